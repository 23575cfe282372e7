// SPDX-License-Identifier: GPL-2.0
/*
 * The differential fuzzer's report: the sequence on a tuple, each frame
 * as hex and as a scapy line, and (-k) differences counted by kind.
 */
#include "difffuzz.h"

/* ---- what one frame was, for the report ---- */


struct logent seq_log[LOG_MAX];
unsigned int seq_n;

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static const char *tcp_flags(uint8_t fl, char *buf)
{
	static const char names[] = "FSRPAUEC";
	char *p = buf;

	for (int i = 0; i < 8; i++)
		if (fl & (1 << i))
			*p++ = names[i];
	*p = '\0';
	return buf;
}

/* A scapy expression of the frame, layer by layer while the headers are
 * whole; the exact bytes follow it in the report either way. */
static void scapy(const uint8_t *b, size_t len, char *out, size_t outlen)
{
	static char hx[2 * PKT_MAX_LEN + 1];
	char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN], fl[9];
	size_t o = 14, n = 0, end = len;
	uint16_t type;
	uint8_t proto;
	int tags = 0;

#define OUT(...) (n += snprintf(out + n, n < outlen ? outlen - n : 0, __VA_ARGS__))
	if (len < 14) {
		hex(b, len, hx);
		OUT("Ether(bytes.fromhex('%s'))", hx);
		return;
	}
	type = b[12] << 8 | b[13];
	OUT("Ether(type=0x%04x)", type);
	while ((type == 0x8100 || type == 0x88a8) && o + 4 <= len && tags++ < 3) {
		type = b[o + 2] << 8 | b[o + 3];
		OUT("/Dot1Q(vlan=%u,type=0x%04x)", (b[o] << 8 | b[o + 1]) & 0xfff, type);
		o += 4;
	}
	if (type == 0x0800 && o + 20 <= len && b[o] >> 4 == 4) {
		const uint8_t *ip = b + o;
		unsigned int hl = (ip[0] & 15) * 4, tot = ip[2] << 8 | ip[3];

		inet_ntop(AF_INET, ip + 12, a, sizeof(a));
		inet_ntop(AF_INET, ip + 16, c, sizeof(c));
		OUT("/IP(src='%s',dst='%s',ihl=%u,len=%u,flags=%u,frag=%u,ttl=%u,proto=%u",
		    a, c, hl / 4, tot, ip[6] >> 5, (ip[6] << 8 | ip[7]) & 0x1fff, ip[8], ip[9]);
		if (hl > 20 && o + hl <= len) {
			hex(ip + 20, hl - 20, hx);
			OUT(",options=[IPOption(bytes.fromhex('%s'))]", hx);
		}
		OUT(")");
		proto = ip[9];
		if (hl < 20 || o + hl > len || ((ip[6] << 8 | ip[7]) & 0x1fff))
			goto raw;
		if (o + tot <= len && tot >= hl)
			end = o + tot;
		o += hl;
	} else if (type == 0x86dd && o + 40 <= len && b[o] >> 4 == 6) {
		const uint8_t *ip = b + o;
		int next = ip[6];

		inet_ntop(AF_INET6, ip + 8, a, sizeof(a));
		inet_ntop(AF_INET6, ip + 24, c, sizeof(c));
		OUT("/IPv6(src='%s',dst='%s',plen=%u,hlim=%u,nh=%u)", a, c, ip[4] << 8 | ip[5],
		    ip[7], next);
		if (o + 40 + (ip[4] << 8 | ip[5]) <= len)
			end = o + 40 + (ip[4] << 8 | ip[5]);
		o += 40;
		while ((next == 0 || next == 43 || next == 60 || next == 44) && o + 8 <= end) {
			unsigned int hlen = next == 44 ? 8 : (b[o + 1] + 1) * 8;

			if (o + hlen > end)
				break;
			if (next == 44) {
				OUT("/IPv6ExtHdrFragment(nh=%u,offset=%u,m=%u,id=0x%08x)", b[o],
				    (b[o + 2] << 8 | b[o + 3]) >> 3, b[o + 3] & 1,
				    b[o + 4] << 24 | b[o + 5] << 16 | b[o + 6] << 8 | b[o + 7]);
				if ((b[o + 2] << 8 | b[o + 3]) >> 3) {
					o += hlen;
					goto raw;
				}
			} else {
				hex(b + o + 2, hlen - 2, hx);
				OUT("/%s(nh=%u,len=%u,options=Raw(bytes.fromhex('%s')))",
				    next == 0 ? "IPv6ExtHdrHopByHop" : next == 43 ?
				    "IPv6ExtHdrRouting" : "IPv6ExtHdrDestOpt", b[o], b[o + 1], hx);
			}
			next = b[o];
			o += hlen;
		}
		proto = next;
	} else {
		goto raw;
	}
	if (proto == 6 && o + 20 <= end) {
		const uint8_t *t = b + o;
		unsigned int doff = (t[12] >> 4) * 4;

		OUT("/TCP(sport=%u,dport=%u,seq=%u,ack=%u,dataofs=%u,flags='%s',window=%u,urgptr=%u",
		    t[0] << 8 | t[1], t[2] << 8 | t[3],
		    (unsigned int)t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7],
		    (unsigned int)t[8] << 24 | t[9] << 16 | t[10] << 8 | t[11], doff / 4,
		    tcp_flags(t[13], fl), t[14] << 8 | t[15], t[18] << 8 | t[19]);
		if (doff > 20 && o + doff <= end) {
			hex(t + 20, doff - 20, hx);
			OUT(",options=Raw(bytes.fromhex('%s'))", hx);
		}
		OUT(")");
		if (doff >= 20 && o + doff <= end)
			o += doff;
		else
			o += 20;
	} else if (proto == 17 && o + 8 <= end) {
		OUT("/UDP(sport=%u,dport=%u,len=%u)", b[o] << 8 | b[o + 1], b[o + 2] << 8 | b[o + 3],
		    b[o + 4] << 8 | b[o + 5]);
		o += 8;
	} else if ((proto == 1 || proto == 58) && o + 8 <= end) {
		OUT("/%s(type=%u,code=%u,id=%u,seq=%u)", proto == 1 ? "ICMP" : "ICMPv6Unknown",
		    b[o], b[o + 1], b[o + 4] << 8 | b[o + 5], b[o + 6] << 8 | b[o + 7]);
		o += 8;
	}
raw:
	if (o < end) {
		hex(b + o, end - o, hx);
		OUT("/Raw(bytes.fromhex('%s'))", hx);
	}
	if (end < len) {
		hex(b + end, len - end, hx);
		OUT("/Padding(bytes.fromhex('%s'))", hx);
	}
#undef OUT
}

void print_frame(const char *what, const struct logent *e)
{
	static char hx[2 * PKT_MAX_LEN + 1], sc[8 * PKT_MAX_LEN];

	hex(e->f.buf, e->f.len, hx);
	scapy(e->f.buf, e->f.len, sc, sizeof(sc));
	printf("#   %s %s (%u bytes)", what, e->egress ? "egress" : "XDP", e->f.len);
	if (e->judged)
		printf(": model %s/%s, program %s/%s", moat_verdict_name(e->want.verdict),
		       moat_reason_name(e->want.reason), moat_verdict_name(e->got.verdict),
		       moat_reason_name(e->got.reason));
	printf("\n#     hex:   %s\n#     scapy: %s\n", hx, sc);
	if (e->state[0])
		printf("#     after: %s\n", e->state);
}


/* -k: differences by kind, each reported in full once, for triage. */
bool keep_going;
struct kind kinds[256];
unsigned int n_kinds;

static bool first_of_kind(struct run *r, const char *what)
{
	const struct logent *e = &seq_log[seq_n - 1];
	char name[160];
	unsigned int i;

	snprintf(name, sizeof(name), "%s | %s | %s/%s vs %s/%s", r->scenario, what,
		 e->judged ? moat_verdict_name(e->want.verdict) : "-",
		 e->judged ? moat_reason_name(e->want.reason) : "-",
		 e->judged ? moat_verdict_name(e->got.verdict) : "-",
		 e->judged ? moat_reason_name(e->got.reason) : "-");
	for (i = 0; i < n_kinds; i++)
		if (!strcmp(kinds[i].name, name))
			return !kinds[i].n++;
	if (n_kinds == ARRAY_SIZE(kinds))
		return false;
	snprintf(kinds[n_kinds].name, sizeof(kinds[0].name), "%s", name);
	kinds[n_kinds++].n = 1;
	return true;
}

void report_diff(struct run *r, const char *what)
{
	r->diffs++;
	if (keep_going && !first_of_kind(r, what))
		return;
	printf("# DIFFERENCE in generation '%s', scenario '%s' (sequence seed 0x%016llx): %s\n",
	       r->f->label, r->scenario, (unsigned long long)r->seed, what);
	printf("# the sequence on this tuple, oldest first%s:\n",
	       r->seeded ? " (seeded into conns before it, as predating moat)" : "");
	for (unsigned int i = 0; i < seq_n; i++)
		print_frame(i + 1 == seq_n ? "=>" : "  ", &seq_log[i]);
}
