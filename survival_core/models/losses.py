"""Survival losses as pure torch functions.

``cox_nll`` is the negative Cox partial log-likelihood of a vector of log-hazards; with
``reduction="sum"`` it equals minus the log partial likelihood that lifelines reports as
``log_likelihood_`` for the same linear predictor (Efron ties). The computation is vectorised
(one sort, one reverse log-cumulative-sum-exp), so extreme log-hazards neither overflow nor underflow.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from survival_core.errors import ConfigError

TIES = ("efron", "breslow")


def check_cox_loss(ties: str, l1_output: float) -> None:
    """ConfigError for a Cox loss's tie method other than :data:`TIES`, or a penalty on the mean
    |log-hazard| that is not a number >= 0: a negative one rewarded large risks, unbounded
    (DeepSurv on GBSG2 ended at a loss of -52 with log-hazards of 54 to 119, saved as fitted)."""
    if ties not in TIES:
        raise ConfigError(f"ties must be one of {TIES}, got {ties!r}.")
    if not (isinstance(l1_output, int | float) and 0 <= l1_output < float("inf")):
        raise ConfigError(f"l1_output must be a number >= 0, got {l1_output!r}.")


def cox_output(layer: torch.nn.Linear, l1_output: float = 0.0) -> torch.nn.Linear:
    """``layer``, the log-hazard output of a network trained by :func:`cox_nll`, its bias held
    at 0, out of training, where no ``l1_output`` penalty reads it: the partial likelihood is the
    same whatever constant every log-hazard gets, so the bias's gradient is rounding noise
    (1e-7), which Adam scales to steps of the whole learning rate. The bias then wandered with
    the rounding: `cv --workers 2`, whose folds train in other processes, shifted a vaesurv
    fold's out-of-fold risks by 0.03 from `--workers 1`. The Breslow baseline carries the
    constant. A network saved with a trained bias loads it (the parameter is kept)."""
    if not l1_output:
        with torch.no_grad():
            layer.bias.zero_()
        layer.bias.requires_grad_(False)
    return layer


def cox_nll(
    log_hz: torch.Tensor,
    event: torch.Tensor,
    time: torch.Tensor,
    ties: str = "efron",
    reduction: str = "mean",
) -> torch.Tensor:
    """Negative Cox partial log-likelihood.

    Parameters
    ----------
    log_hz : (n,) or (n, 1) predicted log-hazards (risk, higher = worse).
    event : (n,) 1 for an observed event, 0 for censoring.
    time : (n,) follow-up times (any unit, e.g. days).
    ties : "efron" (as lifelines) or "breslow" for tied event times.
    reduction : "mean" divides by the number of events, "sum" returns the total.

    A batch without events has no information: the result is 0 (with a zero gradient), never NaN.
    """
    if ties not in TIES:
        raise ConfigError(f"ties must be one of {TIES}, got {ties!r}.")
    if reduction not in ("mean", "sum"):
        raise ConfigError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
    log_hz = log_hz.reshape(-1)
    event = event.reshape(-1).to(log_hz.dtype)
    time = time.reshape(-1)
    n_events = event.sum()
    if n_events.item() == 0:
        return log_hz.sum() * 0.0

    order = torch.argsort(time, stable=True)
    eta, d, t = log_hz[order], event[order], time[order]
    # log of the risk-set sum over T_j >= T_i, computed in log space so it cannot under/overflow
    log_at_risk = torch.flip(torch.logcumsumexp(torch.flip(eta, (0,)), 0), (0,))
    _, group, counts = torch.unique_consecutive(t, return_inverse=True, return_counts=True)
    first = torch.cumsum(counts, 0) - counts  # first sorted position of each distinct time
    log_risk_set = log_at_risk[first][group]  # log risk-set sum at each row's time

    if ties == "efron":
        n_groups = counts.shape[0]
        zeros = torch.zeros(n_groups, dtype=eta.dtype, device=eta.device)
        tied_events = zeros.index_add(0, group, d)
        # share of the risk set held by the events tied at each time (<= 1)
        tied_share = zeros.index_add(0, group, d * torch.exp(eta - log_risk_set))
        events_before = torch.cumsum(d, 0) - d
        rank = events_before - events_before[first][group]  # 0, 1, ... among tied events
        fraction = rank / tied_events[group].clamp(min=1.0)
        log_risk_set = log_risk_set + torch.log1p(-fraction * tied_share[group])

    log_lik = (d * (eta - log_risk_set)).sum()
    return -log_lik / n_events if reduction == "mean" else -log_lik


def discrete_nll(
    logits: torch.Tensor, survived: torch.Tensor, event_at: torch.Tensor
) -> torch.Tensor:
    """Negative log-likelihood of a discrete-time survival model, averaged over subjects.

    ``logits`` (n, K) are the interval hazards on the logit scale; ``survived`` (n, K) is 1 for every
    interval a subject lived through; ``event_at`` (n, K) is 1 in the interval of an observed event.
    An event in interval k contributes log h_k + sum_{j<k} log(1 - h_j); a censored subject the sum of
    log(1 - h_j) over the intervals it survived.
    """
    log_h = F.logsigmoid(logits)
    log_one_minus_h = F.logsigmoid(-logits)
    per_subject = (survived * log_one_minus_h + event_at * log_h).sum(dim=1)
    return -per_subject.mean()
