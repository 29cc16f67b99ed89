/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The processes `mcx up` starts: spawned in sessions of their own with their
 * output in a log file, recorded (pid and kernel start time, so a reused pid
 * is never signalled) in the run directory's state file, probed for health
 * (TCP connect for Diameter, SIP OPTIONS for the S-CSCF) and stopped by pid.
 */
#include "mcx-orch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MCX_SOURCE_DIR
#define MCX_SOURCE_DIR "."
#endif

/* ------------------------------------------------------------------------ */
/* Finding programs                                                         */
/* ------------------------------------------------------------------------ */

static bool executable(const char *p)
{
    return access(p, X_OK) == 0;
}

int mcx_find_program(const char *name, char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            /* Build tree: build/src/mcx/mcx next to build/src/<name>/<name>. */
            mcx_pathf(out, len, "%s/../%s/%s", self, name, name);
            if (executable(out))
                return 0;
            mcx_pathf(out, len, "%s/%s", self, name); /* installed side by side */
            if (executable(out))
                return 0;
        }
    }
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        mcx_pathf(out, len, "%s/%s", d, name);
        if (d[0] == '/' && executable(out))
            return 0;
    }
    out[0] = '\0';
    return -ENOENT;
}

const char *mcx_kamailio_dir(void)
{
    const char *e = getenv("MCX_KAMAILIO_DIR");
    return e && e[0] ? e : MCX_SOURCE_DIR "/configs/kamailio";
}

const char *mcx_nginx_dir(void)
{
    const char *e = getenv("MCX_NGINX_DIR");
    return e && e[0] ? e : MCX_SOURCE_DIR "/configs/nginx";
}

unsigned mcx_free_port(void *arg)
{
    (void)arg;
    for (int tries = 0; tries < 20; tries++) {
        int t = socket(AF_INET, SOCK_STREAM, 0);
        if (t < 0)
            return 0;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof(a);
        if (bind(t, (struct sockaddr *)&a, sizeof(a)) || getsockname(t, (struct sockaddr *)&a, &al)) {
            close(t);
            return 0;
        }
        /* The S-CSCF's SIP port is UDP and TCP: the port must be free for both. */
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        bool ok = u >= 0 && bind(u, (struct sockaddr *)&a, sizeof(a)) == 0;
        if (u >= 0)
            close(u);
        close(t);
        if (ok)
            return ntohs(a.sin_port);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Processes                                                                */
/* ------------------------------------------------------------------------ */

/* Field 3 (state) and field 22 (start time) of /proc/PID/stat. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start, pid_t *pgrp)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields follow the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -EIO;
    char st;
    int pg;
    unsigned long long v[19];
    int got = sscanf(p + 1,
                     " %c %*d %d %*d %*d %*d %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
                     "%llu %llu %llu %llu %llu",
                     &st, &pg, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
                     &v[9], &v[10], &v[11], &v[12], &v[13], &v[14]);
    if (got < 17)
        return -EIO;
    if (state)
        *state = st;
    if (pgrp)
        *pgrp = pg;
    /* v[0] is field 9 (flags), so field 22 (starttime) is v[13]. */
    if (start)
        *start = v[13];
    return 0;
}

int mcx_proc_spawn(mcx_proc_t *p, char *const argv[])
{
    int logfd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(logfd);
        return -e;
    }
    if (pid == 0) {
        /* Own session: a Ctrl-C in mcx's terminal does not reach it, and its
         * pid is its process group (Kamailio's children are signalled with it). */
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        dup2(logfd, 1);
        dup2(logfd, 2);
        execv(argv[0], argv);
        dprintf(2, "mcx: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    p->pid = pid;
    /* The child exists from fork on; its start time is readable at once. */
    p->start_time = 0;
    proc_stat(pid, NULL, &p->start_time, NULL);
    return 0;
}

static bool same_process(const mcx_proc_t *p, char *state)
{
    unsigned long long start = 0;
    char st = '?';
    if (p->pid <= 0 || proc_stat(p->pid, &st, &start, NULL) != 0)
        return false;
    if (state)
        *state = st;
    return p->start_time == 0 || start == p->start_time;
}

bool mcx_proc_alive(const mcx_proc_t *p)
{
    char st = '?';
    if (!same_process(p, &st))
        return false;
    if (st == 'Z') {
        waitpid(p->pid, NULL, WNOHANG); /* reap it if it is ours */
        return false;
    }
    return true;
}

/* Live (non-zombie) members of process group `pg`. */
static unsigned group_members(pid_t pg)
{
    unsigned n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char st;
        pid_t g;
        if (proc_stat((pid_t)pid, &st, NULL, &g) == 0 && g == pg && st != 'Z')
            n++;
    }
    closedir(d);
    return n;
}

static void send_sig(const mcx_proc_t *p, int sig)
{
    if (p->group)
        kill(-p->pid, sig);
    else
        kill(p->pid, sig);
}

static bool gone(const mcx_proc_t *p)
{
    if (mcx_proc_alive(p))
        return false;
    return !p->group || group_members(p->pid) == 0;
}

int mcx_proc_stop(const mcx_proc_t *p, unsigned timeout_ms)
{
    if (!mcx_proc_alive(p)) {
        /* The leader may be gone with children left in its group. The group
         * is still the one we made: a pid is not handed out again while a
         * process group of that id exists. */
        if (p->group && group_members(p->pid))
            kill(-p->pid, SIGKILL);
        return -ESRCH;
    }
    send_sig(p, SIGTERM);
    uint64_t deadline = mcx_now_us() + (uint64_t)timeout_ms * 1000;
    while (!gone(p) && mcx_now_us() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!gone(p)) {
        send_sig(p, SIGKILL);
        deadline = mcx_now_us() + 5000000;
        while (!gone(p) && mcx_now_us() < deadline) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    waitpid(p->pid, NULL, WNOHANG);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Probes                                                                   */
/* ------------------------------------------------------------------------ */

bool mcx_tcp_open(unsigned port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = false;
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
        ok = true;
    } else if (errno == EINPROGRESS) {
        struct pollfd pf = {.fd = s, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        if (poll(&pf, 1, 300) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
            err == 0)
            ok = true;
    }
    close(s);
    return ok;
}

int mcx_sip_options(unsigned port, const char *host, const char *realm, unsigned timeout_ms)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ml = sizeof(me);
    if (bind(s, (struct sockaddr *)&me, sizeof(me)) || getsockname(s, (struct sockaddr *)&me, &ml)) {
        close(s);
        return -1;
    }
    unsigned lport = ntohs(me.sin_port);
    uint8_t rnd[6];
    char tag[16];
    if (mcx_random_bytes(rnd, sizeof(rnd)))
        memset(rnd, 0x5a, sizeof(rnd));
    mcx_hex_encode(rnd, sizeof(rnd), tag);
    char msg[1024];
    int n = snprintf(msg, sizeof(msg),
                     "OPTIONS sip:%s:%u SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-mcx-%s;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:probe@%s>;tag=%s\r\n"
                     "To: <sip:%s:%u>\r\n"
                     "Call-ID: mcx-probe-%s@127.0.0.1\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Content-Length: 0\r\n\r\n",
                     host, port, lport, tag, realm, tag, host, port, tag);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int code = -1;
    if (n > 0 && (size_t)n < sizeof(msg) &&
        sendto(s, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) == n) {
        uint64_t deadline = mcx_now_us() + (uint64_t)timeout_ms * 1000;
        while (code < 0) {
            uint64_t now = mcx_now_us();
            if (now >= deadline)
                break;
            struct pollfd pf = {.fd = s, .events = POLLIN};
            if (poll(&pf, 1, (int)((deadline - now) / 1000) + 1) != 1)
                break;
            char buf[4096];
            ssize_t r = recv(s, buf, sizeof(buf) - 1, 0);
            if (r <= 0)
                break;
            buf[r] = '\0';
            int c;
            /* Skip provisional answers; only a final one counts. */
            if (sscanf(buf, "SIP/2.0 %d", &c) == 1 && c >= 200)
                code = c;
        }
    }
    close(s);
    return code;
}

typedef struct {
    char *buf;
    size_t len, cap;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    body_t *b = arg;
    size_t n = size * nmemb;
    if (b->cap > 1) {
        size_t room = b->cap - 1 - b->len;
        size_t take = n < room ? n : room;
        memcpy(b->buf + b->len, data, take);
        b->len += take;
        b->buf[b->len] = '\0';
    }
    return n;
}

int mcx_http_get(const char *url, const char *ca, unsigned timeout_ms, char *body, size_t len)
{
    static bool init;
    if (!init) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        init = true;
    }
    if (len)
        body[0] = '\0';
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(body, len, "curl: out of memory");
        return -1;
    }
    body_t b = {body, 0, len};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (ca && ca[0]) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    CURLcode rc = curl_easy_perform(c);
    long code = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    else
        snprintf(body, len, "%s", curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    return (int)code;
}

bool mcx_file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    char buf[8192 + 512];
    size_t keep = 0, nl = strlen(needle);
    bool found = false;
    if (nl == 0 || nl > 500) {
        fclose(fp);
        return false;
    }
    for (;;) {
        size_t n = fread(buf + keep, 1, sizeof(buf) - keep - 1, fp);
        if (n == 0)
            break;
        size_t total = keep + n;
        buf[total] = '\0';
        if (memmem(buf, total, needle, nl)) {
            found = true;
            break;
        }
        keep = total < nl ? total : nl - 1;
        memmove(buf, buf + total - keep, keep);
    }
    fclose(fp);
    return found;
}

bool mcx_fd_peer_open(const char *log, const char *identity)
{
    /* "'STATE_WAITCEA'<TAB>-> 'STATE_OPEN'<TAB>'scscf.alpha.test'" */
    static const char arrow_s[] = "\t-> ", want[] = "'STATE_OPEN'\t";
    FILE *fp = fopen(log, "rb");
    if (!fp)
        return false;
    char tail[MCX_TOPO_ID + 8];
    snprintf(tail, sizeof(tail), "\t'%s'", identity);
    size_t tl = strlen(tail);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool open = false;
    while ((n = getline(&line, &cap, fp)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        const char *arrow = strstr(line, arrow_s);
        if (!arrow || (size_t)n < tl || strcmp(line + n - tl, tail) != 0)
            continue;
        open = !strncmp(arrow + sizeof(arrow_s) - 1, want, sizeof(want) - 1);
    }
    free(line);
    fclose(fp);
    return open;
}

bool mcx_proc_probe(const mcx_proc_t *p, char *out, size_t len)
{
    if (!mcx_proc_alive(p)) {
        snprintf(out, len, "not running");
        return false;
    }
    if (p->probe == MCX_PROBE_SIP) {
        int code = mcx_sip_options(p->port, p->identity, p->realm, 500);
        if (code == 200) {
            snprintf(out, len, "ok (OPTIONS 200)");
            return true;
        }
        if (code < 0)
            snprintf(out, len, "no answer to OPTIONS");
        else
            snprintf(out, len, "OPTIONS %d (Cx not up)", code);
        return false;
    }
    if (p->probe == MCX_PROBE_HTTP || p->probe == MCX_PROBE_HTTPS || p->probe == MCX_PROBE_TLS) {
        char url[128], body[256];
        if (p->probe == MCX_PROBE_HTTP)
            snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", p->port);
        else if (p->probe == MCX_PROBE_HTTPS)
            snprintf(url, sizeof(url),
                     "https://127.0.0.1:%u/idms/.well-known/openid-configuration", p->port);
        else
            snprintf(url, sizeof(url), "https://127.0.0.1:%u/", p->port);
        int code = mcx_http_get(url, p->ca, 1500, body, sizeof(body));
        if (code == 200 || (p->probe == MCX_PROBE_TLS && code > 0)) {
            snprintf(out, len, "ok (%s %d)", p->probe == MCX_PROBE_HTTP ? "/healthz"
                                             : p->probe == MCX_PROBE_HTTPS ? "TLS, openid-configuration"
                                                                           : "TLS",
                     code);
            return true;
        }
        if (code < 0)
            snprintf(out, len, "no answer (%.80s)", body);
        else
            snprintf(out, len, "HTTP %d", code);
        return false;
    }
    if (mcx_tcp_open(p->port)) {
        snprintf(out, len, "ok (accepting)");
        return true;
    }
    snprintf(out, len, "port %u not accepting", p->port);
    return false;
}

/* ------------------------------------------------------------------------ */
/* State file                                                               */
/* ------------------------------------------------------------------------ */

/*
 * One line per process, tab-separated:
 * system name identity pid start_time group probe port realm log
 * Lines starting with '#' are comments. Written whole to a temporary file
 * and renamed, so a reader never sees half of it.
 */
static const char *const probe_names[] = {"diameter", "sip", "http", "https", "tls", NULL};

void mcx_state_path(const char *run_dir, char *out, size_t len)
{
    snprintf(out, len, "%s/mcx.state", run_dir);
}

int mcx_state_save(const char *run_dir, const mcx_state_t *st)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    mcx_state_path(run_dir, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp)
        return -errno;
    fprintf(fp, "# mcx state: processes started by `mcx up`; `mcx down` stops them.\n"
                "# system\tname\tidentity\tpid\tstart_time\tgroup\tprobe\tport\trealm\tlog\tca\n");
    for (unsigned i = 0; i < st->n; i++) {
        const mcx_proc_t *p = &st->procs[i];
        fprintf(fp, "%s\t%s\t%s\t%d\t%llu\t%d\t%s\t%u\t%s\t%s\t%s\n", p->system, p->name,
                p->identity, (int)p->pid, p->start_time, p->group ? 1 : 0,
                probe_names[p->probe], p->port, p->realm, p->log, p->ca[0] ? p->ca : "-");
    }
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        int e = errno;
        fclose(fp);
        unlink(tmp);
        return -e;
    }
    fclose(fp);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

static int copy_field(char *dst, size_t size, const char *src)
{
    return mcx_strlcpy(dst, src, size);
}

int mcx_state_load(const char *run_dir, mcx_state_t *st, char *err, size_t errlen)
{
    char path[PATH_MAX];
    mcx_state_path(run_dir, path, sizeof(path));
    memset(st, 0, sizeof(*st));
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char line[PATH_MAX + 1024];
    unsigned lineno = 0;
    int rv = 0;
    while (!rv && fgets(line, sizeof(line), fp)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *f[12];
        unsigned nf = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, "\t", &save); t && nf < 12; t = strtok_r(NULL, "\t", &save))
            f[nf++] = t;
        /* 10 fields (before the application plane) or 11 (with the CA). */
        if (nf < 10 || nf > 11 || st->n >= MCX_STATE_MAX) {
            snprintf(err, errlen, "%s:%u: not a state line", path, lineno);
            rv = -EINVAL;
            break;
        }
        mcx_proc_t *p = &st->procs[st->n];
        char *end;
        long pid = strtol(f[3], &end, 10);
        bool ok = *end == '\0' && pid > 1;
        p->pid = (pid_t)pid;
        p->start_time = strtoull(f[4], &end, 10);
        ok = ok && *end == '\0';
        p->group = !strcmp(f[5], "1");
        p->probe = MCX_PROBE_DIAMETER;
        for (int k = 0; probe_names[k]; k++)
            if (!strcmp(f[6], probe_names[k]))
                p->probe = (mcx_probe_t)k;
        unsigned long port = strtoul(f[7], &end, 10);
        ok = ok && *end == '\0' && port > 0 && port <= 65535;
        p->port = (unsigned)port;
        ok = ok && !copy_field(p->system, sizeof(p->system), f[0]) &&
             !copy_field(p->name, sizeof(p->name), f[1]) &&
             !copy_field(p->identity, sizeof(p->identity), f[2]) &&
             !copy_field(p->realm, sizeof(p->realm), f[8]) &&
             !copy_field(p->log, sizeof(p->log), f[9]) &&
             (nf < 11 || !strcmp(f[10], "-") || !copy_field(p->ca, sizeof(p->ca), f[10]));
        if (!ok) {
            snprintf(err, errlen, "%s:%u: not a state line", path, lineno);
            rv = -EINVAL;
            break;
        }
        st->n++;
    }
    fclose(fp);
    return rv;
}
