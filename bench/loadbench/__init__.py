"""The load benchmark of the candidate socket, run as `bench/load.py` (see bench/README.md).

config      addresses, the scenarios, `log`
cli         the command line: parse_args, main (bench/load.py calls it)
scenario    one scenario run, from its servers to its report
servers     the interview servers, invitations, progress lines, the DB report
processes   starting and stopping every process (daphne, helpers), ports, environment
usage       CPU and RSS of process trees and of the machine (psutil)
echo        the bare echo baseline measured in the same run
candidates  the candidates' websockets clients (one interview each, its log checked)
staff       the staff sockets (--admins), in this loop or a process of their own
admins      --admins-baseline: runs without and with staff sockets compared
crowd       storm / idle: the crowd of idle sockets, and the probe interview beside it
slow_model  slow-model: the reference model server, and feedback against its limit
scale_out   scale-out: the PostgreSQL database and Redis prefix of a run
analysis    a scenario's report from its records
report      the summary line (--json) and the printed report
stats       latency percentiles and formatting
results     the results files (summary JSON, raw samples) and --replot's reading of them
plots       the PNGs
"""
