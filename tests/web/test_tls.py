"""hht tls: a local CA and a server certificate that phones and openssl accept."""

from __future__ import annotations

import ipaddress
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from webapp.web.tls import init_tls, tls_files

HHT = str(Path(sys.executable).with_name("hht"))


def test_certificates_verify_and_carry_the_names(tmp_path):
    subprocess.run([HHT, "init", "--data-dir", str(tmp_path)], check=True, capture_output=True)
    result = subprocess.run(
        [
            HHT,
            "tls",
            "init",
            "--data-dir",
            str(tmp_path),
            "--name",
            "hht-van-12",
            "--address",
            "10.42.0.1",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "hht-van-12" in result.stdout
    exported = tmp_path / "fleet-ca.pem"
    subprocess.run(
        [HHT, "tls", "ca", "--data-dir", str(tmp_path), "--out", str(exported)], check=True
    )
    files = tls_files(tmp_path)
    if shutil.which("openssl"):
        check = subprocess.run(
            ["openssl", "verify", "-CAfile", str(exported), str(files.server_cert)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0 and ": OK" in check.stdout, check.stdout + check.stderr
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "hht-van-12" in san.get_values_for_type(x509.DNSName)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("10.42.0.1") in ips
    assert ipaddress.ip_address("127.0.0.1") in ips
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 398
    for key in (files.ca_key, files.server_key):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_reissuing_keeps_the_ca_phones_already_trust(tmp_path):
    first = init_tls(tmp_path, ["hht"], ["127.0.0.1"])
    ca_before = first.ca_cert.read_bytes()
    server_before = first.server_cert.read_bytes()
    again = init_tls(tmp_path, ["hht"], ["127.0.0.1", "10.42.0.1"])
    assert again.ca_cert.read_bytes() == ca_before
    assert again.server_cert.read_bytes() != server_before


def test_a_bad_address_is_refused(tmp_path):
    subprocess.run([HHT, "init", "--data-dir", str(tmp_path)], check=True, capture_output=True)
    result = subprocess.run(
        [HHT, "tls", "init", "--data-dir", str(tmp_path), "--address", "999.1.2.3"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "bad address" in result.stderr


def test_ca_export_without_a_ca_says_what_to_do(tmp_path):
    result = subprocess.run(
        [HHT, "tls", "ca", "--data-dir", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "hht tls init" in result.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_exported_ca_is_pem(tmp_path):
    init_tls(tmp_path, ["hht"], ["127.0.0.1"])
    text = tls_files(tmp_path).ca_cert.read_text()
    assert text.startswith("-----BEGIN CERTIFICATE-----")
