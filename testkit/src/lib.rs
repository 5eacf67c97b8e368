//! Test support: real MariaDB, Redis and Kubernetes control-plane processes for the test suites.
