"""Reports: the indicators the programme is judged by (share of letters sent and received
electronically, signed with a CA certificate, …), oversight views, exports and the operators'
metrics. Reads only: the figures come from the registers, dispatches and queues of the other
areas."""
