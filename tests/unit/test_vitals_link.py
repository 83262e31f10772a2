"""Vitals streamed over a real WebRTC ``vitals`` data channel between two in-process CallSessions."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from core.vitals.buffer import VitalsStore
from core.vitals.link import VitalsDownlink, VitalsUplink
from core.vitals.signals import Numeric, Wave
from core.vitals.simulator import Scenario, SimulatorSource
from rtc.session import CallSession, CallState
from rtc.signalling import memory_pair
from tests.helpers import SMALL_CALL, until


def test_bedside_vitals_reach_the_specialist_over_the_data_channel() -> None:
    async def scenario() -> None:
        sig_bedside, sig_specialist = memory_pair()
        bedside = CallSession(sig_bedside, **SMALL_CALL)  # type: ignore[arg-type]
        specialist = CallSession(sig_specialist, **SMALL_CALL)  # type: ignore[arg-type]
        source_store = VitalsStore(seconds=30)
        remote_store = VitalsStore(seconds=30)
        source = SimulatorSource(source_store, Scenario.SINUS_TACHYCARDIA, seed=3)
        downlink = VitalsDownlink(specialist, remote_store)
        uplink = VitalsUplink(bedside, source_store)
        try:
            source.start()
            uplink.start()  # before the channel opens: batches queue and flow once it does
            await bedside.start()
            await specialist.start()
            await bedside.wait_for_state(CallState.CONNECTED, 20)
            await until(lambda: remote_store.rings[Wave.ECG].total > 3 * 500, 20)
            await until(lambda: remote_store.numeric(Numeric.SPO2) is not None, 10)

            # What arrived equals what the bedside measured, sample for sample, with its timestamps.
            src, dst = source_store.rings[Wave.ECG], remote_store.rings[Wave.ECG]
            got = dst.latest(500)
            sent = src.read(got.start, got.stop)
            assert sent.values.shape == got.values.shape
            ok = ~np.isnan(got.values[1])
            assert ok.mean() > 0.95  # a loopback SCTP channel loses next to nothing
            np.testing.assert_allclose(got.values[:, ok], sent.values[:, ok], atol=0.0006)
            np.testing.assert_allclose(got.times, sent.times)
            for wave in (Wave.PLETH, Wave.RESP, Wave.ABP, Wave.CO2):
                assert remote_store.rings[wave].total > 0, wave
            remote_spo2 = remote_store.trends[Numeric.SPO2].latest()
            assert remote_spo2 is not None
            times, values = source_store.trends[Numeric.SPO2].since(remote_spo2[1] - 0.001)
            assert remote_spo2[1] in times and values[list(times).index(remote_spo2[1])] == remote_spo2[0]
            # The display's "newest sample is N s old": sender's clock, a few batch periods behind.
            age = remote_store.newest_age()
            assert age is not None and age < 0.5
            assert uplink.batches_sent > 50 and uplink.bytes_sent > 0
            assert downlink.receiver.errors == []
        finally:
            await uplink.stop()
            await uplink.stop()
            downlink.detach()
            downlink.detach()
            source.close()
            await bedside.close()
            await specialist.close()

    asyncio.run(scenario())


def test_age_grows_when_the_bedside_stops_sending() -> None:
    async def scenario() -> None:
        sig_bedside, sig_specialist = memory_pair()
        bedside = CallSession(sig_bedside, **SMALL_CALL)  # type: ignore[arg-type]
        specialist = CallSession(sig_specialist, **SMALL_CALL)  # type: ignore[arg-type]
        source_store, remote_store = VitalsStore(seconds=10), VitalsStore(seconds=10)
        source = SimulatorSource(source_store, Scenario.NORMAL, seed=1)
        VitalsDownlink(specialist, remote_store)
        uplink = VitalsUplink(bedside, source_store)
        try:
            source.start()
            await bedside.start()
            await specialist.start()
            await specialist.wait_for_state(CallState.CONNECTED, 20)
            uplink.start()
            await until(lambda: remote_store.rings[Wave.PLETH].total > 125, 20)
            await uplink.stop()
            stopped = time.monotonic()
            # nothing new arrives: the age of the newest sample climbs past a second (however long the
            # event loop takes to get there on a busy machine)
            await until(lambda: (remote_store.newest_age() or 0.0) >= 1.0, 20)
            age = remote_store.newest_age()
            assert age is not None and age >= time.monotonic() - stopped - 0.1
        finally:
            source.close()
            await bedside.close()
            await specialist.close()

    asyncio.run(scenario())
