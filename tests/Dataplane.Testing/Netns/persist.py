# A long-lived TCP connection for the restart test. Every socket call and every wait has a timeout.
#   server PORT            echo each line back, one thread per connection
#   client HOST PORT DIR   connect once; for N = 1, 2, …: wait for DIR/go-N, send "msg-N", print the echo
import os, socket, sys, threading, time

mode = sys.argv[1]
if mode == 'server':
    s = socket.socket(socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(sys.argv[2]))); s.listen(8); s.settimeout(120)
    print('listening', flush=True)
    def serve(c):
        c.settimeout(120)
        f = c.makefile('rwb')
        for line in f:
            f.write(line); f.flush()
            print('served', line.decode().strip(), flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
elif mode == 'client':
    host, port, d = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    s = socket.create_connection((host, port), timeout=10)
    # Each echo may wait for an agent to restart and for TCP's next retransmission (its backoff doubles): longer
    # than the test's own bound for it (45 s), so the test, not this timeout, decides. A loaded machine took >10 s.
    s.settimeout(90)
    f = s.makefile('rwb')
    print('connected', flush=True)
    for n in range(1, 100):
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(d, 'go-%d' % n)):
            if time.time() > deadline: sys.exit(2)
            time.sleep(0.05)
        f.write(b'msg-%d\n' % n); f.flush()
        print('got', f.readline().decode().strip(), flush=True)
