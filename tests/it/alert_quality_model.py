"""What scripts/alert-quality models, for tests/it/alert_quality.rs: the tool's own traffic and samples.

Imports the tool as a module, draws DAYS days of its Poisson traffic from its first day on (with the incidents given
on the command line), and writes the samples it would backfill (its write_openmetrics) as JSON on stdout:

    {"start": ..., "poll_phase": ..., "poll_interval": ..., "scrape_phase": ..., "scrape_interval": ...,
     "calls": {"rp_id option": [calls per minute, ...]},
     "samples": {"name{labels}": [[scrape time, value], ...]}}
"""

import importlib.machinery
import importlib.util
import json
import os
import random
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAYS = 2


def load():
    path = os.path.join(ROOT, "scripts", "alert-quality")
    loader = importlib.machinery.SourceFileLoader("alert_quality", path)
    spec = importlib.util.spec_from_loader("alert_quality", loader)
    aq = importlib.util.module_from_spec(spec)
    loader.exec_module(aq)
    # Its world, shortened to DAYS days: every function reads these at call time.
    aq.WARMUP_DAYS, aq.DAYS = 0, DAYS
    aq.END = aq.START + DAYS * aq.DAY
    aq.MEASURE_START = aq.START
    return aq


def main():
    seed = int(sys.argv[1])
    aq = load()
    rps = aq.routing_points()
    incidents = []
    for arg in sys.argv[2:]:  # rp_id:kind:start minute, e.g. 1001:outage:1430
        rp_id, kind, start = arg.split(":")
        factor = dict(aq.KINDS)[kind]
        incidents.append({"rp_id": rp_id, "kind": kind, "factor": factor, "start": int(start)})
    calls = aq.simulate(random.Random(seed), rps, incidents, "poisson")
    samples = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in aq.write_openmetrics(tmp, rps, calls):
            with open(path) as f:
                for line in f:
                    if not line.startswith("#"):
                        series, value, ts = line.rsplit(" ", 2)
                        samples.setdefault(series, []).append((int(ts), float(value)))
    json.dump({
        "start": aq.START,
        "poll_phase": aq.POLL_PHASE,
        "poll_interval": aq.POLL_INTERVAL,
        "scrape_phase": aq.SCRAPE_PHASE,
        "scrape_interval": aq.SCRAPE_INTERVAL,
        "calls": {"%s %s" % (rp, opt): counts for rp, per_option in calls.items() for opt, counts in per_option.items()},
        "samples": samples,
    }, sys.stdout)


if __name__ == "__main__":
    main()
