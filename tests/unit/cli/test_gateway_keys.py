"""`pixel gateway-keys`: a key printed once and stored hashed; list shows names only; revoke."""

from pipeline_lib.cli import main
from pipeline_lib.gateway.keys import KeyStore


def test_create_list_revoke(tmp_path, capsys):
    path = tmp_path / "keys.json"
    assert main(["gateway-keys", "--keys-file", str(path), "create", "support-app",
                 "--requests-per-minute", "30", "--env"]) == 0
    out = capsys.readouterr().out
    key = next(line for line in out.splitlines() if line.startswith("pxk-"))
    assert key not in path.read_text()
    assert KeyStore.load(path, env={}).authenticate(f"Bearer {key}").name == "support-app"
    assert "PIXEL_GATEWAY_KEYS entry: support-app:" in out
    assert main(["gateway-keys", "--keys-file", str(path), "list"]) == 0
    listed = capsys.readouterr().out
    assert "support-app" in listed and key not in listed
    assert main(["gateway-keys", "--keys-file", str(path), "revoke", "support-app"]) == 0
    assert main(["gateway-keys", "--keys-file", str(path), "revoke", "support-app"]) == 1
    assert not KeyStore.load(path, env={}).required


def test_gateway_help_names_its_options(capsys):
    try:
        main(["gateway", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    for option in ("--port", "--triton-url", "--keys-file", "--production", "--no-record"):
        assert option in out
