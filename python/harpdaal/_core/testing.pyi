"""
probes for the binding contract
"""
from __future__ import annotations
import typing
__all__: list[str] = ['input_address_f32', 'input_address_f64', 'sleep_without_gil']
def input_address_f32(arg0: typing.Any) -> int:
    ...
def input_address_f64(arg0: typing.Any) -> int:
    ...
def sleep_without_gil(arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
    ...
