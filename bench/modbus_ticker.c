/*
 * modbus-ticker: a libmodbus TCP server whose holding registers ALL change every second,
 * for bench/gateway.py. Built by the benchmark itself (cc + libmodbus-dev).
 *
 * usage: modbus-ticker PORT NREGS
 *
 * Holding register i (0-based, 0 <= i < NREGS, any unit id) holds (i + t) mod 65536,
 * t = floor(unix time - 0.5): every value steps by one at each x.5 s, half a second
 * away from the 1 s grid the clients poll on, so the tick a read sees follows from its
 * time. The map is refreshed when a request arrives in a new tick (nothing runs between
 * requests). Reads only: any function code other than 3 gets exception 1.
 * SIGUSR1 prints "requests N registers M" (served so far) on stdout.
 */
#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t report;

static void on_usr1(int sig) { (void)sig; report = 1; }

static long tick_now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long)floor((double)tv.tv_sec + tv.tv_usec / 1e6 - 0.5);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: modbus-ticker PORT NREGS\n"); return 2; }
    int port = atoi(argv[1]);
    int nregs = atoi(argv[2]);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_mapping_t *map = modbus_mapping_new(0, 0, nregs, 0);
    if (!ctx || !map) return 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);  /* no SA_RESTART: select returns EINTR */
    int listener = modbus_tcp_listen(ctx, 64);
    if (listener < 0) { perror("listen"); return 1; }
    printf("ready\n");
    fflush(stdout);
    int header = modbus_get_header_length(ctx);
    long tick = -1, requests = 0, registers = 0;
    fd_set all;
    FD_ZERO(&all);
    FD_SET(listener, &all);
    int fdmax = listener;
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        if (report) {
            report = 0;
            printf("requests %ld registers %ld\n", requests, registers);
            fflush(stdout);
        }
        fd_set rd = all;
        if (select(fdmax + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        for (int fd = 0; fd <= fdmax; fd++) {
            if (!FD_ISSET(fd, &rd)) continue;
            if (fd == listener) {
                int c = modbus_tcp_accept(ctx, &listener);
                if (c >= 0) { FD_SET(c, &all); if (c > fdmax) fdmax = c; }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, q);
            if (rc <= 0) { close(fd); FD_CLR(fd, &all); continue; }
            if (q[header] != 3) {
                modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
                continue;
            }
            long t = tick_now();
            if (t != tick) {
                tick = t;
                for (int i = 0; i < nregs; i++) map->tab_registers[i] = (uint16_t)(i + t);
            }
            requests++;
            registers += q[header + 3] << 8 | q[header + 4];
            modbus_reply(ctx, q, rc, map);
        }
    }
}
