"""How `make bench` reads the tools it runs (bench/appliance.py): wrk's
report, profile_tasks' summary and the lanes' log."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import appliance  # noqa: E402

WRK = """Running 10s test @ http://127.0.0.1:5100
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   220.13ms   80.20ms   1.02s    70.00%
    Req/Sec    72.10     20.00   120.00     65.00%
  Latency Distribution
     50%  205.00ms
     75%  250.00ms
     90%  300.00ms
     99%    1.01s
  1450 requests in 10.02s, 5.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:    144.71
Transfer/sec:    531.25KB
"""


def test_wrk_report():
    assert appliance.parse_wrk(WRK) == {
        "requests_per_second": 144.71,
        "requests": 1450,
        "p99_ms": 1010.0,
        "errors": 9,
    }


def test_wrk_report_without_errors_in_microseconds():
    clean = WRK.replace("     99%    1.01s", "     99%  850.00us")
    clean = clean.replace("  Socket errors: connect 0, read 2, write 0, timeout 3\n", "")
    clean = clean.replace("  Non-2xx or 3xx responses: 4\n", "")
    figures = appliance.parse_wrk(clean)
    assert figures["errors"] == 0
    assert abs(figures["p99_ms"] - 0.85) < 1e-9


def test_profile_tasks_slowest_first():
    output = (
        "PLAY RECAP ****\n"
        "omero_web : Install OMERO.web into a new venv ------------------------- 21.50s\n"
        "nginx : Install Nginx ------------------------------------------------- 3.25s\n"
        "omero_web : Collect static files -------------------------------------- 9.00s\n"
    )
    assert appliance.profile(output) == [
        ("omero_web : Install OMERO.web into a new venv", 21.5),
        ("omero_web : Collect static files", 9.0),
        ("nginx : Install Nginx", 3.25),
    ]


def test_phases_from_the_lanes_log(tmp_path):
    log = tmp_path / "lanes.log"
    log.write_text(
        "[default +1] INFO     [default > create] Executing\n"
        "[default +31] INFO     [default > converge] Executing\n"
        "[cluster +40] INFO     [cluster > create] Executing\n"
        "[lanes] the second lane starts after 40 s\n"
        "[default +100] INFO     [default > verify] Executing\n"
        "[cluster +70] INFO     [cluster > converge] Executing\n"
        "[default +150] INFO     [default > side_effect] Executing\n"
        "[default +160] INFO     [default > verify] Executing\n"
        "[cluster +90] done\n"
        "[default +200] done\n"
    )
    assert appliance.suite_part(log) == {
        "default": {"create": 30, "converge": 69, "verify": 90, "side_effect": 10},
        "cluster": {"create": 30, "converge": 20},
    }
