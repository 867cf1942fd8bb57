# Reference solution: traffic from the storage address uses table 200. The reverse-path
# check looks the source up from the address the packet was sent to, so this rule also
# lets requests to 10.20.1.10 in through eth1; rp_filter stays 1.
ip rule add from 10.20.1.10 table 200 priority 100
