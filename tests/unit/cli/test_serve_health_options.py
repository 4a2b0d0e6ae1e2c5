"""`pixel serve`'s TLS options and the client commands' --tls/--ca options, through the real
argument parser (no server: the e2e tests serve)."""

from __future__ import annotations

import pytest

from pipeline_lib.cli import build_parser
from pipeline_lib.cli.client_options import settings_from_args
from pipeline_lib.cli.serve import grpc_tls_from_args


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_serve_without_tls_options_serves_plain_grpc():
    assert grpc_tls_from_args(parse("serve")) is None


def test_serve_with_cert_key_and_client_ca_is_mutual_tls(tmp_path):
    tls = grpc_tls_from_args(parse("serve", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                                   "--tls-client-ca", "ca.pem"))
    assert (str(tls.cert), str(tls.key), str(tls.client_ca)) == ("c.pem", "k.pem", "ca.pem")


@pytest.mark.parametrize("argv", [("--tls-cert", "c.pem"), ("--tls-client-ca", "ca.pem")])
def test_serve_refuses_half_a_tls_setup(argv):
    with pytest.raises(SystemExit, match="tls"):
        grpc_tls_from_args(parse("serve", *argv))


def test_health_ca_option_turns_on_client_tls(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("PEM")
    settings = settings_from_args(parse("health", "--ca", str(ca)))
    assert settings.tls.enabled and settings.tls.ca == str(ca)
    assert not settings_from_args(parse("health")).tls.enabled
    assert settings_from_args(parse("ask", "--tls", "hello")).tls.enabled
