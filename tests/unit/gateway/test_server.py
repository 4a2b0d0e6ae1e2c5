"""How the gateway is served: no access log unless asked, an idle server that wakes once a second
yet stops at once."""

import json
import time
import urllib.request

from pipeline_lib.cli import build_parser
from pipeline_lib.cli.gateway import overrides_from_args
from pipeline_lib.composition import load_app_config
from pipeline_lib.gateway.server import GatewayServer, QuietServer
from tests.unit.gateway.running import free_port, running_gateway


def test_the_access_log_is_off_unless_asked(tmp_path):
    keys = [f"gateway.keys.file={tmp_path / 'none.json'}"]
    assert GatewayServer(load_app_config(keys)).access_log is False
    args = build_parser().parse_args(["gateway", "--access-log", *keys])
    assert GatewayServer(load_app_config(overrides_from_args(args))).access_log is True
    assert GatewayServer(load_app_config(keys), access_log=True).access_log is True


def test_an_idle_gateway_wakes_rarely_but_stops_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(QuietServer, "TICK_S", 60.0)
    with running_gateway(tmp_path, triton_grpc_url=f"127.0.0.1:{free_port()}") as server:
        with urllib.request.urlopen(server.url + "/health/live", timeout=10) as response:
            assert response.headers["Date"] and json.load(response) == {"status": "live"}
        assert type(server._uvicorn) is QuietServer
        stopping = time.monotonic()
    # A 60 s tick would hold the stop for up to a minute without the wake-up.
    assert time.monotonic() - stopping < 15
