//! A fresh MariaDB database per test, on the server that `scripts/test-services.sh` started.
//!
//! The server's URL comes from `TICKETING_TEST_MYSQL_URL` (a user that may create databases). Each call of
//! [`fresh_database`] creates a database with a unique name and returns its URL, so tests never share rows.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection as _, Executor as _};

/// The URL of the test server, or a panic that says how to start it.
pub fn server_url() -> String {
    std::env::var("TICKETING_TEST_MYSQL_URL").unwrap_or_else(|_| {
        panic!(
            "TICKETING_TEST_MYSQL_URL is not set: run the tests with scripts/test.sh, or start MariaDB with \
             `scripts/test-services.sh start /tmp/ticketing-services && . /tmp/ticketing-services/env`"
        )
    })
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let server = server_url();
    let name =
        format!("t_{}_{}_{:08x}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), rand::random::<u32>());
    let mut connection = MySqlConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test MariaDB at TICKETING_TEST_MYSQL_URL: {e}"));
    connection
        .execute(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin").as_str())
        .await
        .expect("CREATE DATABASE");
    format!("{}/{name}", server.trim_end_matches('/'))
}
