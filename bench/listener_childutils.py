#!/usr/bin/python3
"""bench/listener_childutils.py: what a Python eventlistener costs.

The usual peer of svrelay-listener: a loop on supervisor.childutils (as
the Slack listeners in Python are written), which acknowledges each event
without forwarding it anywhere.  Run with Debian's /usr/bin/python3, where
supervisor lives.  Exits 0 on EOF.
"""
import sys

from supervisor import childutils


def main():
    while True:
        try:
            headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        except KeyError:		# EOF: readline() gave '' and no 'len'
            return 0
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
