/* demo.h — `wscale demo`: Redis, N backends and the lb on one host,
 * supervised, in one command. */
#ifndef WSCALE_DEMO_H
#define WSCALE_DEMO_H

int demo_main(int argc, char **argv);

#endif
