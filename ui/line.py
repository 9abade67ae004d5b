"""The server's one line for the CPUs: every session's runs take turns (``tapeapp.train.TrainingQueue``)."""

from __future__ import annotations

import os

import streamlit as st

import tapeapp


@st.cache_resource(show_spinner=False)
def training_queue() -> tapeapp.train.TrainingQueue:
    """One line for every session of this server: runs take turns for the CPUs (``TAPEAPP_SEATS`` sets how many
    train at once; default one per CPU)."""
    seats = os.environ.get("TAPEAPP_SEATS", "").strip()
    return tapeapp.train.TrainingQueue(seats=int(seats) if seats.isdigit() and int(seats) > 0 else None)


def others_waiting() -> bool:
    """Whether other runs wait for a seat: then the live pictures wait for the end, and the CPU goes to training."""
    return training_queue().snapshot()["waiting"] > 0


