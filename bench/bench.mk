# make bench: svrelay against its floors and its peers (bench/run).
# Builds its own optimised copy under _build/bench and writes
# BENCHMARKS.md at the top of the source tree.  Never part of make check
# or CI.  BENCH_ARGS=--quick for the short run.
# (bench/listener* and bench/ingest* are listed in listener/local.mk and
# relayd/local.mk.)
EXTRA_DIST += bench/run bench/bench.mk bench/analysis.md \
	bench/listener_childutils.py bench/relayd_start.c bench/spool_fill.c bench/rss_floor.c \
	bench/latency.py bench/fake_slack_nodelay.py
bench:
	$(top_srcdir)/bench/run $(BENCH_ARGS)
.PHONY: bench
