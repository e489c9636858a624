"""Hypothesis strategies for DUIS requests, responses and alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import strategies as st

from rig.duis import request as rq
from rig.duis.messages import (
    AlcsHcalcsConfigurationChange,
    DccAlert,
    DeviceAlert,
    PreCommand,
    Response,
    ResponseMessage,
)
from rig.gbcs.eui import Eui64

euis = st.binary(min_size=8, max_size=8).map(Eui64)
request_ids = st.builds(rq.RequestId, euis, euis, st.integers(1, 2**64 - 1))
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
optional_moments = st.none() | moments
u32 = st.integers(0, 2**32 - 1)


def gas_flows(**rate: st.SearchStrategy) -> st.SearchStrategy[rq.UpdateDeviceConfigurationGasFlow]:
    """SRV 6.7 bodies with the one rate field given (``rate`` or ``rate_decimal``)."""
    states = st.sampled_from(rq.SupplyStateChange)
    return st.builds(
        rq.UpdateDeviceConfigurationGasFlow,
        states,
        states,
        st.integers(1, 255),
        st.integers(1, 65535),
        **rate,
    )


bodies = st.one_of(
    st.builds(rq.TopUpDevice, st.from_regex(r"[0-9]{20}", fullmatch=True)),
    st.builds(rq.ReadSupplyStatus),
    st.builds(rq.EnableSupply),
    st.builds(rq.DisableSupply),
    st.builds(rq.ArmSupply),
    st.builds(rq.ReadInstantaneousImportRegisters, optional_moments),
    st.builds(rq.ReadInstantaneousPrepayValues, optional_moments),
    st.builds(rq.ReadMeterBalance, optional_moments),
    gas_flows(rate=st.integers(0, 65535)),
    gas_flows(rate_decimal=st.integers(0, 65535).map(lambda n: Decimal(n).scaleb(-4))),
    st.builds(
        rq.UpdateHanDeviceLog,
        euis,
        st.just(rq.HanLogRequestType.ADD),
        st.builds(
            rq.AddDeviceToChfWhitelist,
            st.integers(1, 3600),
            st.binary(min_size=6, max_size=16),
            st.none() | st.from_regex(r"[0-9]{13}", fullmatch=True),
        ),
        optional_moments,
    ),
    st.builds(rq.UpdateHanDeviceLog, euis, st.just(rq.HanLogRequestType.REMOVE)),
)


def _variant(body: rq.Body) -> st.SearchStrategy[rq.CommandVariant]:
    critical = isinstance(body, rq.EnableSupply | rq.DisableSupply | rq.ArmSupply)
    critical = critical or isinstance(body, rq.UpdateDeviceConfigurationGasFlow)
    return st.just(rq.CommandVariant(4)) if critical else st.sampled_from(rq.CommandVariant)


requests = bodies.flatmap(
    lambda body: st.builds(rq.ServiceRequest, request_ids, st.just(body), _variant(body))
)

_srvs = st.sampled_from(["2.2", "4.1.1", "7.4", "7.2", "8.11", "1.1.1"])
response_bodies = st.one_of(
    st.builds(
        ResponseMessage,
        _srvs,
        st.none() | st.binary(max_size=64) | st.builds(PreCommand, st.binary(max_size=64)),
    ),
    st.builds(
        DeviceAlert,
        st.integers(0, 0xFFFF),
        st.binary(max_size=64),
        st.none() | u32,
        st.none() | u32,
    ),
    st.builds(
        DccAlert,
        st.just("N58"),
        st.builds(
            AlcsHcalcsConfigurationChange,
            euis,
            st.none() | st.sampled_from(["A", "B", "CDE"]),
            st.none() | st.sampled_from(["4.0", "4.3"]),
        ),
        st.none() | u32,
        st.none() | u32,
    ),
)
responses = st.builds(
    Response,
    st.sampled_from(["I0", "I99", "E1", "E2", "E12", "E19"]),
    moments,
    response_bodies,
    st.none() | request_ids,
    st.none() | request_ids,
)
