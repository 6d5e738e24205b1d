/**
 * Compatibility: the servers of test/support/servers.ts under the old module name. startCluster(specs, options)
 * without a flavor starts the host's MariaDB 10.11, as this module did before the test matrix.
 */
export {
    DEFAULT_FLAVOR,
    MATRIX,
    MariaCluster,
    MariaServer,
    flavorRuntime,
    freePort,
    mariadbVersion,
    runbookSpecs,
    serverTitle,
    startCluster,
    titleOfVersion,
    type FlavorRuntime,
    type ServerFlavor,
    type ServerSpec,
    type StartOptions,
} from "./servers";
