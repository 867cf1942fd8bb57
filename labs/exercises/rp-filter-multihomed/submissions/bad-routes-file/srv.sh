ip rule add from 10.20.1.10 table 200 priority 100
