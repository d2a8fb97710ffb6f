/*
 * topo.h: how the two cpus of a cell relate (bench/topo.c), for the placement
 * line of every report. It only reads sysfs; it must never pin or move
 * anything.
 */
#ifndef BENCH_TOPO_H
#define BENCH_TOPO_H

/*
 * One of "same cpu" (one logical cpu, time-shared), "SMT siblings" (two
 * hardware threads of one core), "separate cores" (of one package),
 * "separate packages", or "unknown (no topology in sysfs)" when
 * /sys/devices/system/cpu/cpuN/topology cannot tell; a static string. Reads
 * sysfs on every call; never fails.
 */
const char *topo_relation(int cpu_a, int cpu_b);

#endif /* BENCH_TOPO_H */
