# Alertmanager sink and Prometheus metrics (issue: beyond one host).
