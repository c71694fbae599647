//! A producer instance of a run: a librdkafka client in process, or an external engine's
//! process (`super::engines`). Both record into a [`Context`] of their own; everything that
//! reads a run's progress or its end reads the contexts, whichever client filled them.

use std::sync::Arc;

use rdkafka::producer::Producer as _;

use super::engines::EngineInstance;
use crate::producer::worker::Sink;
use crate::producer::{Client, Context};

/// One producer instance.
#[derive(Clone)]
pub enum Instance {
    Rdkafka(Arc<Client>),
    Engine(Arc<EngineInstance>),
}

impl Instance {
    /// Its recorder, counters and sync slots.
    pub fn context(&self) -> &Context {
        match self {
            Instance::Rdkafka(c) => c.context(),
            Instance::Engine(e) => &e.link.context,
        }
    }

    /// Where its workers send.
    pub fn sink(&self) -> Sink {
        match self {
            Instance::Rdkafka(c) => Sink::Rdkafka(c.clone()),
            Instance::Engine(e) => Sink::Engine(e.link.clone()),
        }
    }
}
