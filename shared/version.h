/* version.h — the one place the version lives. */
#ifndef WSCALE_VERSION_H
#define WSCALE_VERSION_H

#define WSCALE_VERSION "0.1.0"

#endif
