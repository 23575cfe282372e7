// SPDX-License-Identifier: GPL-2.0
/*
 * What make bench leaves behind: build/bench/bench.json (every peers figure
 * in ns per packet, the live Mpps, every goal with its ratio and met or
 * missed) and build/bench/bench.png, a plot of them (gnuplot from Debian):
 * what the README shows. A missing gnuplot costs the picture, not the run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bench.h"

#define BENCH_DIR	"build/bench"
#define MAX_ROWS	256
#define N_WHO		4

static const char *const who_ns[N_WHO] = { "empty", "floor", "moat", "xdp-filter" };
static const char *const tables[] = { "0", "10k", "1M" };

static struct ns_row {
	const char *table, *cls;
	double ns[N_WHO];	/* 0: not measured */
} ns_rows[MAX_ROWS];
static size_t n_ns;

static struct mpps_row {
	const char *cls, *who;
	double mpps, sent;
} mpps_rows[MAX_ROWS];
static size_t n_mpps;

static struct goal_row {
	char what[160];
	double value, goal;
	bool at_most, met;
} goals[MAX_ROWS];
static size_t n_goals;

void report_ns(const char *table, const char *cls, const char *who, double ns)
{
	size_t i, k;

	for (k = 0; k < N_WHO && strcmp(who_ns[k], who); k++)
		;
	for (i = 0; i < n_ns; i++)
		if (!strcmp(ns_rows[i].table, table) && !strcmp(ns_rows[i].cls, cls))
			break;
	if (k == N_WHO || i == MAX_ROWS)
		return;
	if (i == n_ns) {
		ns_rows[n_ns].table = table;
		ns_rows[n_ns++].cls = cls;
	}
	ns_rows[i].ns[k] = ns;
}

void report_mpps(const char *cls, const char *who, double mpps, double sent)
{
	if (n_mpps < MAX_ROWS)
		mpps_rows[n_mpps++] = (struct mpps_row){ cls, who, mpps, sent };
}

/* Prints the goal with its figure, met or MISSED, and keeps it for the JSON. */
bool report_goal(const char *what, double value, double goal, bool at_most)
{
	bool met = at_most ? value <= goal : value >= goal;

	printf("goal: %-66s %6.2f (%s %g) %s\n", what, value, at_most ? "<=" : ">=", goal,
	       met ? "met" : "MISSED");
	if (n_goals < MAX_ROWS) {
		struct goal_row *g = &goals[n_goals++];

		snprintf(g->what, sizeof(g->what), "%s", what);
		g->value = value;
		g->goal = goal;
		g->at_most = at_most;
		g->met = met;
	}
	return met;
}

static void write_json(FILE *js)
{
	fprintf(js, "{\n  \"ns_unit\": \"ns per packet (BPF_PROG_TEST_RUN, median of %d rounds)\",\n"
		"  \"classes\": [\n", ROUNDS);
	for (size_t i = 0; i < n_ns; i++) {
		fprintf(js, "    { \"table\": \"%s\", \"class\": \"%s\"", ns_rows[i].table,
			ns_rows[i].cls);
		for (size_t k = 0; k < N_WHO; k++)
			if (ns_rows[i].ns[k])
				fprintf(js, ", \"%s\": %.1f", who_ns[k], ns_rows[i].ns[k]);
		fprintf(js, " }%s\n", i + 1 < n_ns ? "," : "");
	}
	fprintf(js, "  ],\n  \"live_unit\": \"Mpps handled by the receiving side (live frames)\",\n"
		"  \"live\": [\n");
	for (size_t i = 0; i < n_mpps; i++)
		fprintf(js, "    { \"class\": \"%s\", \"who\": \"%s\", \"mpps\": %.3f, "
			"\"sent_mpps\": %.3f }%s\n", mpps_rows[i].cls, mpps_rows[i].who,
			mpps_rows[i].mpps, mpps_rows[i].sent, i + 1 < n_mpps ? "," : "");
	fprintf(js, "  ],\n  \"goals\": [\n");
	for (size_t i = 0; i < n_goals; i++)
		fprintf(js, "    { \"goal\": \"%s\", \"value\": %.3f, \"limit\": \"%s %g\", "
			"\"met\": %s }%s\n", goals[i].what, goals[i].value,
			goals[i].at_most ? "<=" : ">=", goals[i].goal, goals[i].met ? "true" : "false",
			i + 1 < n_goals ? "," : "");
	fprintf(js, "  ]\n}\n");
}

static const char *const live_who[] = { "moat", "nftables", "XDP drop-all" };
#define N_LIVE_WHO	(sizeof(live_who) / sizeof(live_who[0]))

/* Data files (one per table size: class, then ns per program; live: class,
 * then Mpps per receiver) and the gnuplot script that draws the panels that
 * have data. */
static int write_plot(FILE *gp)
{
	char path[64];
	const char *seen[MAX_ROWS];
	size_t n_seen = 0, rows;
	FILE *f;

	fprintf(gp, "set terminal png size 1200,%d\nset output '" BENCH_DIR "/bench.png'\n"
		"set multiplot layout %d,1\nset style data histogram\n"
		"set style histogram clustered\nset style fill solid border -1\n"
		"set xtics rotate by -12 font ',9'\nset key outside right top\nset yrange [0:*]\n",
		n_mpps ? 1500 : 1125, n_mpps ? 4 : 3);
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		snprintf(path, sizeof(path), BENCH_DIR "/ns-%s.dat", tables[t]);
		if (!(f = fopen(path, "w")))
			return -errno;
		rows = 0;
		for (size_t i = 0; i < n_ns; i++) {
			if (strcmp(ns_rows[i].table, tables[t]))
				continue;
			fprintf(f, "\"%s\"", ns_rows[i].cls);
			for (size_t k = 0; k < N_WHO; k++)
				fprintf(f, " %.1f", ns_rows[i].ns[k]);
			fprintf(f, "\n");
			rows++;
		}
		fclose(f);
		if (rows)
			fprintf(gp, "set ylabel 'ns'\nset title 'ns per packet, %s devops + %s deny + "
				"%s bans in moat (lower is better)'\nplot '%s' using 2:xtic(1) title "
				"'empty', '' using 3 title 'floor', '' using 4 title 'moat', '' using 5 "
				"title 'xdp-filter'\n", tables[t], tables[t], tables[t], path);
	}
	if (!(f = fopen(BENCH_DIR "/live.dat", "w")))
		return -errno;
	for (size_t i = 0; i < n_mpps; i++) {
		size_t j;

		for (j = 0; j < n_seen && strcmp(seen[j], mpps_rows[i].cls); j++)
			;
		if (j < n_seen)
			continue;
		seen[n_seen++] = mpps_rows[i].cls;
		fprintf(f, "\"%s\"", mpps_rows[i].cls);
		for (size_t k = 0; k < N_LIVE_WHO; k++) {
			double v = 0;

			for (size_t r = 0; r < n_mpps; r++)
				if (!strcmp(mpps_rows[r].cls, mpps_rows[i].cls) &&
				    !strcmp(mpps_rows[r].who, live_who[k]))
					v = mpps_rows[r].mpps;
			fprintf(f, " %.3f", v);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	if (n_mpps)
		fprintf(gp, "set ylabel 'Mpps'\nset xtics rotate by 0\nset title 'live frames into "
			"a veth: Mpps the receiver judged (higher is better)'\nplot '" BENCH_DIR
			"/live.dat' using 2:xtic(1) title 'moat', '' using 3 title 'nftables', "
			"'' using 4 title 'XDP drop-all (ceiling)'\n");
	fprintf(gp, "unset multiplot\n");
	return 0;
}

int report_write(void)
{
	FILE *js, *gp;
	int err;

	if (mkdir(BENCH_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (!(js = fopen(BENCH_DIR "/bench.json", "w")))
		return -errno;
	write_json(js);
	fclose(js);
	if (!(gp = fopen(BENCH_DIR "/bench.gp", "w")))
		return -errno;
	err = write_plot(gp);
	fclose(gp);
	if (err)
		return err;
	if (system("gnuplot " BENCH_DIR "/bench.gp 2>/dev/null") == 0)
		printf("wrote %s/bench.json and %s/bench.png (gnuplot %s/bench.gp)\n", BENCH_DIR,
		       BENCH_DIR, BENCH_DIR);
	else
		printf("wrote %s/bench.json (no plot: gnuplot failed on %s/bench.gp)\n", BENCH_DIR,
		       BENCH_DIR);
	return 0;
}
