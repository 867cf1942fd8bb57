# Turn the filter off: the requests get in, the replies leave through gw-app.
sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
