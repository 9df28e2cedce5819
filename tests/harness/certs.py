"""A throw-away CA and a server certificate for 127.0.0.1 / localhost (openssl CLI)."""
import os
import subprocess


def make_ca_and_server_cert(directory, cn="k0smotron-oci test CA"):
    """Return dict(ca=..., cert=..., key=...) paths; the CA is trusted by nothing by default."""
    os.makedirs(directory, exist_ok=True)

    def p(name):
        return os.path.join(directory, name)

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
        "-keyout", p("ca.key"), "-out", p("ca.crt"),
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", p("server.key"), "-out", p("server.csr"))
    with open(p("ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
        "-CAcreateserial", "-days", "2", "-extfile", p("ext.cnf"), "-out", p("server.crt"))
    return {"ca": p("ca.crt"), "cert": p("server.crt"), "key": p("server.key")}
