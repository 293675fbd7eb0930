"""Bounded load test of `flatspace serve` on loopback.

Fills a fresh store with the demo tables (`flatspace demo --no-serve`), starts the server, starts a
UMAP job on the blobs table so the compute threads are busy, then runs N concurrent clients (asyncio,
HTTP/1.1 keep-alive, standard library only) for a fixed time. Each client loops over: a random page of
table rows (Arrow IPC), the category codes of a column, and the coordinates of a finished PCA
layout. Prints one JSON object: requests, errors, throughput, p50/p90/p99/max latency per kind, and
whether the UMAP job was still running when the load ended (the API must keep answering while compute
saturates the cores).

    python3 tests/load/load.py --binary PATH/TO/flatspace [--clients 100] [--seconds 20]
"""

import argparse
import asyncio
import json
import random
import re
import subprocess
import sys
import tempfile
import time


async def request(
    reader, writer, host, path, method="GET", body=b"", content_type=None
):
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, chunked = None, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        data = bytearray()
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            data += await reader.readexactly(size)
            await reader.readline()
        return status, bytes(data)
    return status, await reader.readexactly(length or 0)


async def one_shot(host, port, path, method="GET", body=b"", content_type=None):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        return await request(
            reader, writer, f"{host}:{port}", path, method, body, content_type
        )
    finally:
        writer.close()


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


async def client(host, port, deadline, table, n_rows, coords_path, stats, rng):
    reader, writer = await asyncio.open_connection(host, port)
    kinds = [
        (
            "rows",
            lambda: (
                f"/api/v1/tables/{table}/rows?offset={rng.randrange(max(1, n_rows - 100))}&limit=100"
            ),
        ),
        ("codes", lambda: f"/api/v1/tables/{table}/columns/cluster/codes"),
        ("coords", lambda: coords_path),
    ]
    i = rng.randrange(3)
    while time.monotonic() < deadline:
        kind, make = kinds[i % 3]
        i += 1
        started = time.perf_counter()
        try:
            status, body = await request(reader, writer, f"{host}:{port}", make())
            ok = status == 200 and len(body) > 0
        except Exception as e:  # noqa: BLE001 - every failure counts as an error
            ok = False
            stats["error_kinds"][type(e).__name__] = (
                stats["error_kinds"].get(type(e).__name__, 0) + 1
            )
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
        elapsed = time.perf_counter() - started
        stats["latencies"].setdefault(kind, []).append(elapsed)
        stats["bytes"] += len(body) if ok else 0
        if not ok:
            stats["errors"] += 1
    writer.close()


async def load(args, host: str, port: int) -> int:
    _, body = await one_shot(host, port, "/api/v1/projects")
    project = json.loads(body)[0]["id"]
    _, body = await one_shot(host, port, f"/api/v1/projects/{project}/runs")
    run = json.loads(body)[0]["id"]
    _, body = await one_shot(host, port, f"/api/v1/runs/{run}/tables")
    blobs = next(t for t in json.loads(body) if t["key"] == "blobs")

    def post(payload):
        return one_shot(
            host,
            port,
            "/api/v1/projections",
            "POST",
            json.dumps(payload).encode(),
            "application/json",
        )

    _, body = await post({"table_id": blobs["id"], "algorithm": "pca"})
    pca = json.loads(body)["projection_id"]
    while True:
        _, body = await one_shot(host, port, f"/api/v1/projections/{pca}")
        if json.loads(body)["status"] == "done":
            break
        await asyncio.sleep(0.05)
    _, body = await post(
        {"table_id": blobs["id"], "algorithm": "umap", "params": {"n_epochs": 500}}
    )
    umap = json.loads(body)["projection_id"]
    await asyncio.sleep(1.0)  # let the job reach the optimisation

    stats = {"latencies": {}, "errors": 0, "error_kinds": {}, "bytes": 0}
    rng = random.Random(7)
    started = time.monotonic()
    deadline = started + args.seconds
    coords = f"/api/v1/projections/{pca}/coords"
    await asyncio.gather(
        *[
            client(
                host,
                port,
                deadline,
                blobs["id"],
                blobs["n_rows"],
                coords,
                stats,
                random.Random(rng.random()),
            )
            for _ in range(args.clients)
        ]
    )
    wall = time.monotonic() - started
    _, body = await one_shot(host, port, f"/api/v1/projections/{umap}")
    umap_state = json.loads(body)
    all_latencies = [v for vs in stats["latencies"].values() for v in vs]

    def ms(v):
        return None if v is None else round(v * 1000, 2)

    report = {
        "clients": args.clients,
        "seconds": round(wall, 1),
        "table_rows": blobs["n_rows"],
        "requests": len(all_latencies),
        "errors": stats["errors"],
        "error_kinds": stats["error_kinds"],
        "throughput_rps": round(len(all_latencies) / wall, 1),
        "mbytes_per_s": round(stats["bytes"] / wall / 1e6, 1),
        "p50_ms": ms(percentile(all_latencies, 50)),
        "p90_ms": ms(percentile(all_latencies, 90)),
        "p99_ms": ms(percentile(all_latencies, 99)),
        "max_ms": ms(max(all_latencies) if all_latencies else None),
        "by_kind": {
            kind: {
                "n": len(v),
                "p50_ms": ms(percentile(v, 50)),
                "p99_ms": ms(percentile(v, 99)),
            }
            for kind, v in stats["latencies"].items()
        },
        "umap_status_at_end": umap_state["status"],
    }
    print(json.dumps(report, indent=1))
    return 0 if stats["errors"] == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--blobs-rows", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=2, help="server compute threads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flatspace-load-") as data:
        subprocess.run(
            [
                args.binary,
                "--data-dir",
                data,
                "demo",
                "--no-serve",
                "--blobs-rows",
                str(args.blobs_rows),
            ],
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [
                args.binary,
                "--data-dir",
                data,
                "serve",
                "--port",
                "0",
                "--threads",
                str(args.threads),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            port = None
            for line in server.stdout:
                m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    port = int(m.group(1))
                    break
            if port is None:
                print("the server printed no URL", file=sys.stderr)
                return 2
            return asyncio.run(load(args, "127.0.0.1", port))
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
