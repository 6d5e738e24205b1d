# Sourced by build-image.sh and test/support/rootfs.sh: what each test flavor is made of. One table, so a test
# image and the chroot servers of the same flavor come from the same cached debootstrap tarball.
#
# flavor_spec NAME   NAME is a flavor (mysql-9, mariadb-11, mariadb-10.11) or its image's tag; sets
#   FLAVOR, IMAGE, SUITE, PACKAGES (comma-separated, debootstrap --include) and KIND (mysql | mariadb).
# shellcheck shell=bash
ALL_FLAVORS=(mysql-9 mariadb-11 mariadb-10.11)
# Not a server: the router's test image (issue #15), Debian bookworm's haproxy with the official image's contract.
ROUTER_FLAVORS=(haproxy-2.6)

flavor_spec() {
    case "$1" in
        mysql-9 | mysql-replicaset-test/mysql:9)
            # mysql-client-core has mysql and mysqladmin (the component's health check); -server-core has mysqld.
            FLAVOR=mysql-9 IMAGE=mysql-replicaset-test/mysql:9 SUITE=sid KIND=mysql
            PACKAGES=mysql-server-core,mysql-client-core ;;
        mariadb-11 | mysql-replicaset-test/mariadb:11)
            FLAVOR=mariadb-11 IMAGE=mysql-replicaset-test/mariadb:11 SUITE=sid KIND=mariadb
            PACKAGES=mariadb-server,mariadb-client ;;
        mariadb-10.11 | mysql-replicaset-test/mariadb:10.11)
            # mariadb-client brings mariadb-admin (healthcheck); util-linux (essential) brings setpriv (no gosu).
            FLAVOR=mariadb-10.11 IMAGE=mysql-replicaset-test/mariadb:10.11 SUITE=bookworm KIND=mariadb
            PACKAGES=mariadb-server,mariadb-client ;;
        haproxy-2.6 | mysql-replicaset-test/haproxy:2.6)
            FLAVOR=haproxy-2.6 IMAGE=mysql-replicaset-test/haproxy:2.6 SUITE=bookworm KIND=haproxy
            PACKAGES=haproxy ;;
        *)
            echo "unknown test flavor or image '$1' (known: ${ALL_FLAVORS[*]} ${ROUTER_FLAVORS[*]} and their images)" >&2
            return 1 ;;
    esac
}
