"""Parses a Prometheus text exposition (stdin) with the `prometheus-client` package's own
parser and prints its samples as JSON: {"name{label="value",…}": value}. Used by the e2e
test `metrics::counters_move_with_the_work`; a malformed exposition fails here."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
        samples[f"{sample.name}{{{labels}}}"] = sample.value
json.dump(samples, sys.stdout, sort_keys=True)
