/* version: the version of gomortem, stored in every database it makes
 * (meta.analyzer_version) and shown by --version and in reports. */
#ifndef GOMORTEM_VERSION_H
#define GOMORTEM_VERSION_H

#define GOMORTEM_VERSION "0.1.0"

#endif
