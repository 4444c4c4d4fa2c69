/*
 * lineside-modbus-peer: an independent Modbus TCP server on libmodbus, so the driver
 * is tested against a second implementation (not only pymodbus). Values are laid out
 * byte by byte here: libmodbus 3.1.6 (Debian 12) has modbus_set_float_abcd & co. wrong
 * on little-endian hosts (libmodbus issues #358, #611; fixed upstream in 49af73d, 2022):
 * there _abcd writes BADC, _badc ABCD, _cdab DCBA and _dcba CDAB.
 *
 * usage: lineside-modbus-peer PORT
 *
 * Register map (any unit id; 0-based protocol addresses). tests/drivers/modbus/
 * test_libmodbus.py holds the same table:
 *   holding 0        uint16 0x1234          holding 1      int16 -2
 *   holding 10..11   float32 123.456 ABCD   holding 12..13 float32 123.456 DCBA
 *   holding 14..15   float32 123.456 BADC   holding 16..17 float32 123.456 CDAB
 *   holding 20..21   int32 -123456789 ABCD  holding 22..23 uint32 0xDEADBEEF CDAB
 *   holding 30..33   int64 -1234567890123 ABCD
 *   holding 40..41   float32 -0.5 CDAB
 *   holding 50..53   string "LINE-7" (first character in the high byte)
 *   holding 60       bits 0xA005
 *   holding 100..299 every numeric type in every byte order, 5-register slots in this
 *                    order: int16 -12345, uint16 54321, float16 -2.5, bits 0x8001,
 *                    int32 -2000000001, uint32 4000000001, float32 123.456,
 *                    int64 -9000000000000000001, uint64 18000000000000000001,
 *                    float64 -98765.4321; each in ABCD, CDAB, BADC, DCBA
 *   holding 500..505 a machine for counter and mode scenarios, changed only from stdin:
 *                    500 PackML StateCurrent 6, 501 UnitMode 1, 502..503 good uint32
 *                    ABCD 0, 504 reject uint16 0, 505 signed int16 0
 *   holding 800      answers "server busy" (exception 6) to the first 2 reads
 *   holding 900..909 forbidden: any read touching it gets exception 2
 *   holding >= 1000  outside the map: exception 2
 *   input   i (0..9) 1000 + i
 *   coil    i (0..99) i % 3 == 0            discrete i (0..99) i % 2 == 1
 * Any function code other than 1-4 is answered with exception 1 (illegal function),
 * and counted on stderr, so a write would show.
 * Control (the test, not Modbus): lines "set ADDRESS VALUE" on stdin put VALUE (taken
 * modulo 2^16, so -1 is 0xFFFF) into a holding register; each is answered "ok" on stdout.
 */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define NB_REGS 1000

/* Put the big-endian bytes `be` (n = 4 or 8) into registers in `order`: "ABCD" lists,
 * per wire byte, which value byte goes there (n = 8 spreads the pattern per word pair:
 * ABCD -> ABCDEFGH, CDAB -> GHEFCDAB, BADC -> BADCFEHG, DCBA -> HGFEDCBA). */
static void put(uint16_t *h, const uint8_t *be, int n, const char *order) {
    uint8_t wire[8];
    int reverse_words = (order[0] == 'C' || order[0] == 'D');
    int swap_bytes = (order[0] == 'B' || order[0] == 'D');
    for (int w = 0; w < n / 2; w++) {
        int src = reverse_words ? (n / 2 - 1 - w) : w;
        wire[2 * w] = be[2 * src + (swap_bytes ? 1 : 0)];
        wire[2 * w + 1] = be[2 * src + (swap_bytes ? 0 : 1)];
    }
    for (int w = 0; w < n / 2; w++) h[w] = (uint16_t)(wire[2 * w] << 8 | wire[2 * w + 1]);
}

static void be32(uint32_t v, uint8_t *out) {
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void be64(uint64_t v, uint8_t *out) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void put_float(uint16_t *h, float f, const char *order) {
    uint32_t u;
    uint8_t b[4];
    memcpy(&u, &f, 4);
    be32(u, b);
    put(h, b, 4, order);
}

static void be16(uint16_t v, uint8_t *out) {
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)v;
}

/* The same value in the four byte orders, in consecutive 5-register slots from 100. */
static void all_orders(uint16_t *h, int *slot, const uint8_t *be, int n) {
    static const char *orders[] = {"ABCD", "CDAB", "BADC", "DCBA"};
    for (int o = 0; o < 4; o++) {
        put(h + 100 + 5 * *slot, be, n, orders[o]);
        (*slot)++;
    }
}

static void fill_matrix(uint16_t *h) {
    uint8_t b[8];
    int slot = 0;
    float f = 123.456f;
    double d = -98765.4321;
    uint32_t u32;
    uint64_t u64;
    be16((uint16_t)-12345, b); all_orders(h, &slot, b, 2);
    be16(54321, b); all_orders(h, &slot, b, 2);
    be16(0xC100, b); all_orders(h, &slot, b, 2); /* IEEE half -2.5 */
    be16(0x8001, b); all_orders(h, &slot, b, 2);
    be32((uint32_t)-2000000001, b); all_orders(h, &slot, b, 4);
    be32(4000000001u, b); all_orders(h, &slot, b, 4);
    memcpy(&u32, &f, 4); be32(u32, b); all_orders(h, &slot, b, 4);
    be64((uint64_t)-9000000000000000001LL, b); all_orders(h, &slot, b, 8);
    be64(18000000000000000001ULL, b); all_orders(h, &slot, b, 8);
    memcpy(&u64, &d, 8); be64(u64, b); all_orders(h, &slot, b, 8);
}

static void fill(modbus_mapping_t *m) {
    uint16_t *h = m->tab_registers;
    uint8_t b[8];
    h[0] = 0x1234;
    h[1] = (uint16_t)-2;
    put_float(h + 10, 123.456f, "ABCD");
    put_float(h + 12, 123.456f, "DCBA");
    put_float(h + 14, 123.456f, "BADC");
    put_float(h + 16, 123.456f, "CDAB");
    be32((uint32_t)-123456789, b);
    put(h + 20, b, 4, "ABCD");
    be32(0xDEADBEEFu, b);
    put(h + 22, b, 4, "CDAB");
    be64((uint64_t)-1234567890123LL, b);
    put(h + 30, b, 8, "ABCD");
    put_float(h + 40, -0.5f, "CDAB");
    const char *s = "LINE-7";
    for (size_t i = 0; i < strlen(s); i += 2)
        h[50 + i / 2] = (uint16_t)((uint8_t)s[i] << 8 | (uint8_t)(i + 1 < strlen(s) ? s[i + 1] : 0));
    h[60] = 0xA005;
    h[500] = 6;
    h[501] = 1;
    fill_matrix(h);
    for (int i = 0; i < 10; i++) m->tab_input_registers[i] = (uint16_t)(1000 + i);
    for (int i = 0; i < 100; i++) {
        m->tab_bits[i] = (i % 3 == 0);
        m->tab_input_bits[i] = (i % 2 == 1);
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 1502;
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_mapping_t *map = modbus_mapping_new(100, 100, NB_REGS, 10);
    if (!ctx || !map) return 1;
    fill(map);
    int listener = modbus_tcp_listen(ctx, 16);
    if (listener < 0) { perror("listen"); return 1; }
    int header = modbus_get_header_length(ctx);
    int busy_left = 2;
    fd_set all;
    FD_ZERO(&all);
    FD_SET(listener, &all);
    FD_SET(STDIN_FILENO, &all);
    int fdmax = listener;
    char line[128];
    size_t used = 0;
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set rd = all;
        if (select(fdmax + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        for (int fd = 0; fd <= fdmax; fd++) {
            if (!FD_ISSET(fd, &rd)) continue;
            if (fd == STDIN_FILENO) {
                ssize_t n = read(fd, line + used, sizeof line - 1 - used);
                if (n <= 0) { FD_CLR(fd, &all); continue; }
                used += (size_t)n;
                line[used] = 0;
                char *nl;
                while ((nl = strchr(line, '\n')) != NULL) {
                    *nl = 0;
                    long a, v;
                    if (sscanf(line, "set %ld %ld", &a, &v) == 2 && a >= 0 && a < NB_REGS) {
                        map->tab_registers[a] = (uint16_t)v;
                        printf("ok\n");
                    } else {
                        printf("error %s\n", line);
                    }
                    fflush(stdout);
                    used -= (size_t)(nl + 1 - line);
                    memmove(line, nl + 1, used + 1);
                }
                if (used >= sizeof line - 1) used = 0; /* an overlong line: dropped */
                continue;
            }
            if (fd == listener) {
                int c = modbus_tcp_accept(ctx, &listener);
                if (c >= 0) { FD_SET(c, &all); if (c > fdmax) fdmax = c; }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, q);
            if (rc <= 0) { close(fd); FD_CLR(fd, &all); continue; }
            int fc = q[header];
            int addr = q[header + 1] << 8 | q[header + 2];
            int count = q[header + 3] << 8 | q[header + 4];
            if (fc < 1 || fc > 4) {
                fprintf(stderr, "refused function code %d\n", fc);
                modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
            } else if (fc == 3 && addr <= 909 && addr + count > 900) {
                modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
            } else if (fc == 3 && addr == 800 && busy_left > 0) {
                busy_left--;
                modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_SLAVE_OR_SERVER_BUSY);
            } else {
                modbus_reply(ctx, q, rc, map);
            }
        }
    }
}
