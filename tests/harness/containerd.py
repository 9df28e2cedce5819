"""A real containerd (Debian's 1.7, unpacked by scripts/setup.sh under .tools/containerd) started on private
root/state directories with the drop-ins a k0s node would have, and a minimal CRI client for it.

containerd's CRI plugin is what kubelet talks to; ``PullImage`` through it pulls as a k0s worker would, with the
registry settings of the imported drop-ins (credentials, ``config_path`` -> ``hosts.toml``). The protobuf
messages are a few fields, encoded here by hand; grpcio carries them over the unix socket.
"""
import os
import shutil
import subprocess
import time

from tests.harness import tools

CRI_PULL = "/runtime.v1.ImageService/PullImage"
CRI_IMAGE_STATUS = "/runtime.v1.ImageService/ImageStatus"


def containerd_bin(name="containerd"):
    local = os.path.join(tools.TOOLS, "containerd", "usr", "bin", name)
    return local if os.path.exists(local) else shutil.which(name)


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field (strings and embedded messages)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _strings(message):
    """The length-delimited fields of a protobuf message, {number: [bytes]} (one level)."""
    fields, i = {}, 0
    while i < len(message):
        key, i = _read_varint(message, i)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, i = _read_varint(message, i)
            fields.setdefault(number, []).append(message[i:i + length])
            i += length
        elif wire == 0:
            i = _read_varint(message, i)[1]
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return fields


def _read_varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


class Containerd:
    def __init__(self, workdir, drop_ins):
        """``drop_ins``: {file name: TOML text} for the imported directory (as /etc/k0s/containerd.d)."""
        self.dir = workdir
        self.socket = os.path.join(workdir, "containerd.sock")
        self.drop_in_dir = os.path.join(workdir, "containerd.d")
        os.makedirs(self.drop_in_dir, exist_ok=True)
        for name, text in drop_ins.items():
            path = os.path.join(self.drop_in_dir, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
        self.config = os.path.join(workdir, "config.toml")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "version = 2",
                'root = "%s"' % os.path.join(workdir, "root"),
                'state = "%s"' % os.path.join(workdir, "state"),
                'imports = ["%s/*.toml"]' % self.drop_in_dir,
                "[grpc]",
                '  address = "%s"' % self.socket,
                "[ttrpc]",
                '  address = "%s"' % os.path.join(workdir, "ttrpc.sock"),
                '[plugins."io.containerd.internal.v1.opt"]',
                '  path = "%s"' % os.path.join(workdir, "opt"),
                '[plugins."io.containerd.grpc.v1.cri"]',
                '  disable_apparmor = true',
                '  [plugins."io.containerd.grpc.v1.cri".containerd]',
                '    snapshotter = "native"',
            ]) + "\n")
        self.proc = None
        self.log = os.path.join(workdir, "containerd.log")

    def dump(self):
        """``containerd config dump``: the configuration as containerd parsed it (drop-ins merged)."""
        return subprocess.run([containerd_bin(), "--config", self.config, "config", "dump"], capture_output=True,
                              text=True, check=True).stdout

    def start(self, timeout=20):
        self.proc = subprocess.Popen([containerd_bin(), "--config", self.config], stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("containerd did not start: %s" % open(self.log).read()[-3000:])
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def pull(self, image, timeout=60):
        """CRI ``PullImage`` of ``image`` with no credentials in the request (containerd's own config decides);
        returns the image ref containerd answers, or raises grpc.RpcError."""
        import grpc
        with grpc.insecure_channel("unix://" + self.socket) as channel:
            call = channel.unary_unary(CRI_PULL, request_serializer=None, response_deserializer=None)
            answer = call(_field(1, _field(1, image.encode())), timeout=timeout)
        return _strings(answer).get(1, [b""])[0].decode()
