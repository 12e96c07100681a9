//! Sans-IO SMTP core: no sockets, clocks, printing or clap.
