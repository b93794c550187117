/* The header bindgen reads for build.rs: the structures src/krb5.rs lays out by hand. */
#include <krb5/krb5.h>
