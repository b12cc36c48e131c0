#!/usr/bin/env python3
"""Slow clients against `simba-tuner serve`: N connections that send a request head one byte
every INTERVAL seconds, while a normal request is timed every 2 s.

usage: serve_slow_clients.py HOST:PORT TOKEN [N=500] [INTERVAL=3] [SECONDS=60]
Prints, every 2 s: slow connections still open, opened in total, and the normal request's
status and latency."""
import asyncio, sys, time

host, port = sys.argv[1].rsplit(":", 1)
token = sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 500
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
head = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: {'a' * 4000}\r\n\r\n".encode()
stats = {"open": 0, "opened": 0, "closed_by_server": 0, "refused": 0}

async def slow_client():
    # Reconnects when dropped, as an attacker would.
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            stats["refused"] += 1
            await asyncio.sleep(interval)
            continue
        stats["open"] += 1
        stats["opened"] += 1
        try:
            for i in range(len(head)):
                writer.write(head[i:i + 1])
                await writer.drain()
                try:
                    await asyncio.wait_for(reader.read(1024), interval)
                    break  # an answer (503, 408) or the end of the connection
                except asyncio.TimeoutError:
                    pass
        except OSError:
            pass
        finally:
            stats["open"] -= 1
            stats["closed_by_server"] += 1
            writer.close()

async def normal_request():
    request = (f"POST /api/call/list_profiles HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Authorization: Bearer {token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").encode()
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
        writer.write(request)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        status = line.decode().split(" ")[1] if line else "closed"
    except (OSError, asyncio.TimeoutError) as e:
        status = type(e).__name__
    return status, (time.perf_counter() - start) * 1000

async def main():
    tasks = [asyncio.create_task(slow_client()) for _ in range(n)]
    end = time.time() + seconds
    worst = 0.0
    while time.time() < end:
        await asyncio.sleep(2)
        status, ms = await normal_request()
        worst = max(worst, ms)
        print(f"t+{seconds - (end - time.time()):5.1f}s slow open {stats['open']:4d} opened {stats['opened']:5d} "
              f"refused {stats['refused']:4d}  normal request: {status} in {ms:7.1f} ms", flush=True)
    print(f"worst normal request: {worst:.1f} ms")
    for t in tasks:
        t.cancel()

asyncio.run(main())
