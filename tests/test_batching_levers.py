"""The producer's batching levers in `make bench` (benchmarks/bench_engine.py --levers-only):
run as a newcomer runs it, and what it prints must say what Kafka's levers do."""

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_engine.py"


def test_the_levers_table_shows_what_linger_and_compression_buy():
    output = subprocess.run([sys.executable, str(BENCH), "--levers-only", "--lever-records",
                             "1200"], capture_output=True, text=True, check=True,
                            timeout=600).stdout
    rows = {}
    for line in output.splitlines():
        found = re.match(r"(none|gzip|snappy|lz4|zstd)\s+([\d,]+)\s+(\d+)\s+([\d.]+)\s+([\d,]+)"
                         r"\s+([\d.]+)\s+(\d+)$", line)
        if found:
            codec, batch_size, linger = found[1], int(found[2].replace(",", "")), int(found[3])
            rows[codec, batch_size, linger] = (float(found[4]), int(found[5].replace(",", "")),
                                               float(found[6]), int(found[7]))
    assert len(rows) == 5 * 2 * 4, output
    for codec in ("none", "gzip", "zstd"):
        bytes_0, batches_0, _, _ = rows[codec, 16_384, 0]
        bytes_100, batches_100, mean_100, _ = rows[codec, 16_384, 100]
        assert batches_100 < batches_0 and bytes_100 < bytes_0     # lingering batches
        assert mean_100 > rows[codec, 16_384, 5][2]                 # ...and costs latency
    for codec in ("gzip", "snappy", "lz4", "zstd"):                 # compression pays
        assert rows[codec, 16_384, 20][0] < rows["none", 16_384, 20][0] / 2
    assert "bytes per record (|) and p99 latency (#)" in output
