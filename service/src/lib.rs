//! The reservation service library (being written).
