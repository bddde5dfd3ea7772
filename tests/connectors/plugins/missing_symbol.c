/* A library that is not a connector: it exports a near miss of the entry point's name. The
 * loader must refuse it, naming the missing symbol. */
int rf_connector_initialise(void) { return 0; }
