#!/usr/bin/python3
"""bench/fake_slack_nodelay.py: tests/integration/fake_slack.py with
TCP_NODELAY on its connections, same arguments.

The fake writes an answer's headers and body in two send()s; with Nagle
on, the body waits for the client's delayed ACK of the headers (40 ms on
Linux), so every POST on a kept-alive connection costs svrelayd 40 ms
that Slack would not.  The latency benchmark measures svrelay, not that.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import fake_slack  # noqa: E402

fake_slack.Handler.disable_nagle_algorithm = True

if __name__ == "__main__":
    sys.exit(fake_slack.main())
