# Bounded TCP/UDP echo peers for the namespace tests. Every socket call has a timeout.
#   tcp-server PORT | tcp-client HOST PORT BYTES | udp-server PORT | udp-client HOST PORT COUNT
#   bulk-server PORT | bulk-client HOST PORT BYTES  (random bytes; both sides print byte count and SHA-256)
# A server waits for its next client up to SERVER_IDLE seconds, not for one socket timeout: on a loaded machine a
# test may start clients tens of seconds apart (a python3 start alone can take seconds), and a server that exited
# meanwhile turns the next connection into "Connection refused". The tests stop their servers when done.
import hashlib, os, socket, sys, time

SERVER_IDLE = 600

def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET

def accept(s):
    deadline = time.monotonic() + SERVER_IDLE
    while True:
        try:
            return s.accept()
        except socket.timeout:
            if time.monotonic() > deadline: raise

def recvfrom(s):
    deadline = time.monotonic() + SERVER_IDLE
    while True:
        try:
            return s.recvfrom(65536)
        except socket.timeout:
            if time.monotonic() > deadline: raise

mode = sys.argv[1]
if mode == 'tcp-server':
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', int(sys.argv[2]))); s.listen(8); s.settimeout(30)
    print('listening', flush=True)
    while True:
        c, _ = accept(s); c.settimeout(10); n = 0
        while True:
            d = c.recv(65536)
            if not d: break
            n += len(d)
        c.sendall(str(n).encode()); c.close()
        print('served', n, flush=True)
elif mode == 'tcp-client':
    host, port, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(family(host)); s.settimeout(10); s.connect((host, port))
    s.sendall(b'x' * size); s.shutdown(socket.SHUT_WR)
    print('echoed', s.recv(100).decode(), flush=True)
elif mode == 'bulk-server':
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', int(sys.argv[2]))); s.listen(8); s.settimeout(60)
    print('listening', flush=True)
    while True:
        c, _ = accept(s); c.settimeout(20); n = 0; h = hashlib.sha256()
        while True:
            d = c.recv(1 << 20)
            if not d: break
            n += len(d); h.update(d)
        reply = 'got %d %s' % (n, h.hexdigest())
        c.sendall(reply.encode()); c.close()
        print(reply, flush=True)
elif mode == 'bulk-client':
    host, port, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = os.urandom(size)
    s = socket.socket(family(host)); s.settimeout(20); s.connect((host, port))
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    print('sent %d %s' % (size, hashlib.sha256(data).hexdigest()), flush=True)
    reply = b''
    while True:
        d = s.recv(200)
        if not d: break
        reply += d
    print(reply.decode(), flush=True)
elif mode == 'udp-server':
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', int(sys.argv[2]))); s.settimeout(30)
    print('listening', flush=True)
    while True:
        d, a = recvfrom(s); s.sendto(d, a)
elif mode == 'udp-client':
    host, port, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(family(host), socket.SOCK_DGRAM); s.settimeout(1)
    got = 0
    for i in range(count):
        s.sendto(b'udp-%d' % i + b'.' * 200, (host, port))
        try:
            d, _ = s.recvfrom(65536)
            if d.startswith(b'udp-%d' % i): got += 1
        except socket.timeout:
            pass
    print('replies', got, flush=True)
