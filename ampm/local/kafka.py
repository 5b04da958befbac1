"""A real Apache Kafka broker on this machine, without Docker.

The broker jars come from Maven Central through ``mvn`` into a cache outside the clone (reused
by every clone on the machine); one KRaft node (broker and controller in one JVM) runs on
127.0.0.1. ``make dev`` keeps a persistent data dir; the tests start a throwaway broker on free
ports. Usage: ``python -m ampm.local.kafka fetch|start|stop|status``.
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import ctypes.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from ampm.local.paths import accepts_connections, cache_root, data_root, free_ports

KAFKA_VERSION = os.environ.get("AMPM_KAFKA_VERSION", "3.9.1")
SCALA_VERSION = "2.13"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"
READY_TIMEOUT_SECONDS = 60.0
READY_POLL_SECONDS = 0.25

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ampm.local</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
      <exclusions>
        <exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.slf4j</groupId><artifactId>slf4j-log4j12</artifactId></exclusion>
        <exclusion><groupId>log4j</groupId><artifactId>log4j</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- The release tarball ships a logging binding the pom lacks; without one the broker is
         silent. -->
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version>
    </dependency>
  </dependencies>
</project>
"""

LOG4J_PROPERTIES = """log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
"""


class BrokerError(RuntimeError):
    """The broker could not be fetched, formatted or started; the message has the log tail."""


def jar_cache() -> Path:
    """Where the broker jars live: outside the clone, shared by every clone on the machine."""
    configured = os.environ.get("AMPM_KAFKA_CACHE")
    return Path(configured) if configured else cache_root() / f"kafka-{KAFKA_VERSION}"


def fetch_jars(cache: Path | None = None) -> Path:
    """Download the broker's runtime jars once with Maven; later calls return at once."""
    cache = cache or jar_cache()
    libs = cache / "libs"
    marker = cache / "COMPLETE"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise BrokerError("mvn is not installed: install Maven (apt-get install maven)")
    cache.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(libs, ignore_errors=True)
    (cache / "pom.xml").write_text(POM.format(scala=SCALA_VERSION, kafka=KAFKA_VERSION))
    maven = ["mvn", "-B", "-q", "-ntp", f"-Dmaven.repo.local={cache / 'm2'}"]
    command = [*maven, "-f", str(cache / "pom.xml"), DEPENDENCY_PLUGIN, "-DincludeScope=runtime"]
    command.append(f"-DoutputDirectory={libs}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BrokerError(f"mvn failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    marker.write_text(KAFKA_VERSION)
    return libs


def new_cluster_id() -> str:
    """URL-safe base64 of 16 random bytes without padding, as KRaft expects.

    One id in 64 would start with '-', which the storage tool reads as an option and then
    fails on a missing cluster id; Kafka's own generator draws again in that case, and so
    does this one.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """One single-node KRaft broker: its ports and its directory."""

    home: Path
    port: int
    controller_port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    def server_properties(self) -> str:
        """Single-node musts: replication factors of 1, or consumer groups wait forever."""
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.data_dir}",
                "num.partitions=3",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=5",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "default.replication.factor=1",
                "min.insync.replicas=1",
                "group.initial.rebalance.delay.ms=0",
                "log.cleaner.dedupe.buffer.size=16777216",
                "auto.create.topics.enable=false",
                "",
            ]
        )


class LocalBroker:
    """Start, watch and stop one broker process described by a ``BrokerConfig``."""

    def __init__(self, config: BrokerConfig, libs: Path, *, dies_with_parent: bool = False) -> None:
        self.config = config
        self.libs = libs
        self.dies_with_parent = dies_with_parent
        self._process: subprocess.Popen[bytes] | None = None

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise BrokerError(
                "java is not installed: install a JRE 17 (apt-get install default-jre)"
            )
        return java

    def format_storage(self) -> None:
        """Write the KRaft metadata once; a formatted data dir is left as it is."""
        home = self.config.home
        home.mkdir(parents=True, exist_ok=True)
        (home / "server.properties").write_text(self.config.server_properties())
        (home / "log4j.properties").write_text(LOG4J_PROPERTIES)
        cluster_id_file = home / "cluster.id"
        if not cluster_id_file.exists():
            cluster_id_file.write_text(new_cluster_id())
        result = subprocess.run(
            [
                self._java(),
                "-Xmx256m",
                "-cp",
                f"{self.libs}/*",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id_file.read_text().strip(),
                "-c",
                str(home / "server.properties"),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(f"formatting storage failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> int:
        """Launch the JVM in its own process group; returns its pid."""
        self.format_storage()
        home = self.config.home
        with self.config.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self._java(),
                    "-Xms128m",
                    "-Xmx512m",
                    "-XX:+UseG1GC",
                    "-XX:+ExitOnOutOfMemoryError",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j.configuration=file:{home.resolve() / 'log4j.properties'}",
                    "-cp",
                    f"{self.libs}/*",
                    "kafka.Kafka",
                    str(home / "server.properties"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.dies_with_parent else None,
            )
        self.config.pid_file.write_text(str(self._process.pid))
        return self._process.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.config.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no broker log)"

    async def wait_ready(self, limit_seconds: float = READY_TIMEOUT_SECONDS) -> float:
        """Poll a metadata call until the broker answers; returns the seconds it took."""
        started = time.monotonic()
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(
                    f"the broker exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            if await _answers(self.config.bootstrap_servers):
                return time.monotonic() - started
            if time.monotonic() - started > limit_seconds:
                raise BrokerError(
                    f"the broker was not ready in {limit_seconds:.0f}s:\n{self.log_tail()}"
                )
            await asyncio.sleep(READY_POLL_SECONDS)

    def stop(self, timeout: float = 20.0) -> None:
        """Terminate by the stored pid, wait, then kill."""
        pid = self._process.pid if self._process else read_pid(self.config.pid_file)
        if pid is not None:
            terminate(pid, timeout)
        if self._process is not None:
            self._process.wait(timeout=5)
            self._process = None
        self.config.pid_file.unlink(missing_ok=True)


async def _answers(bootstrap_servers: str) -> bool:
    # The port first: the admin client logs each refused connection of a starting broker.
    if not await accepts_connections(bootstrap_servers.split(",")[0]):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2_000)
    try:
        await admin.start()
        await admin.describe_cluster()
    except Exception:  # not up yet: any client error means "poll again"
        return False
    finally:
        await admin.close()
    return True


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL it if it outlives ``timeout``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) or _is_zombie(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (FileNotFoundError, IndexError):
        return False


def dev_broker(port: int = 9092, controller_port: int = 9093) -> LocalBroker:
    """The persistent broker of ``make dev``."""
    config = BrokerConfig(home=data_root() / "kafka", port=port, controller_port=controller_port)
    return LocalBroker(config, jar_cache() / "libs")


def throwaway_broker(home: Path) -> LocalBroker:
    """A broker on free ports in a fresh directory, for a test session or a benchmark.

    It receives SIGTERM when the process that started it dies, so an interrupted test run
    leaves no JVM behind.
    """
    port, controller_port = free_ports(2)
    config = BrokerConfig(home=home, port=port, controller_port=controller_port)
    return LocalBroker(config, fetch_jars(), dies_with_parent=True)


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask Linux to signal it when the parent dies.
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: list[str]) -> int:
    """``fetch``, ``start``, ``stop`` or ``status`` the local development broker."""
    command = argv[0] if argv else "status"
    port = int(os.environ.get("AMPM_LOCAL_KAFKA_PORT", "9092"))
    broker = dev_broker(port=port, controller_port=port + 1)
    if command == "fetch":
        print(f"broker jars in {fetch_jars()}")
    elif command == "start":
        fetch_jars()
        running = read_pid(broker.config.pid_file)
        if running is not None:
            print(f"kafka already running (pid {running}) on {broker.config.bootstrap_servers}")
            return 0
        pid = broker.start()
        seconds = asyncio.run(broker.wait_ready())
        print(
            f"kafka ready on {broker.config.bootstrap_servers} (pid {pid}, {seconds:.1f}s); "
            f"log: {broker.config.log_file}"
        )
    elif command == "stop":
        broker.stop()
        print("kafka stopped")
    elif command == "status":
        running = read_pid(broker.config.pid_file)
        print(f"kafka running (pid {running})" if running else "kafka not running")
        return 0 if running else 1
    else:
        print("usage: python -m ampm.local.kafka fetch|start|stop|status", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
