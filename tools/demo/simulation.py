"""How it went: each drafted hiccup taken through its workflow steps, and the NCs escalated from them."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import random
from typing import Any

from sqlalchemy.orm import Session

from models.hiccups import ActionKind, FollowUp, Hiccups, Severity, follow_up_days, sla_hours
from models.settings import get_settings
from tools.demo.drafts import Drafter, Integration, in_days, in_hours
from tools.demo.lab import Lab, Person
from tools.demo.texts import EFFECTIVE, NOT_EFFECTIVE, NOT_SATISFIED, PREVENTIVE, RCA_FACTORS, SATISFIED

ESCALATION = {Severity.low: 0.01, Severity.medium: 0.03, Severity.high: 0.13, Severity.critical: 0.35}

# How many writes (each bumps the row's optimistic-locking version) the engine makes of a
# step: where its hooks run queries between setting fields, autoflush writes more than once.
WRITES = {
    ('hiccups', 'create'): 2,  # insert; reference, responder (the HOD, if any) and SLA due times in one UPDATE
    ('hiccups', 'close'): 2,  # closed_at, then follow_up_due_at
    ('hiccups', 'escalate'): 2,  # closed_at, then nc_id
    ('non_conformances', 'create'): 2,  # insert; reference
}


class Simulation:
    """A year of hiccups and NCs, as rows and audit rows, ready for bulk INSERTs."""

    def __init__(self, session: Session, lab: Lab, rng: random.Random, now: dt.datetime) -> None:
        self.session = session
        self.lab = lab
        self.rng = rng
        self.now = now
        self.tz = get_settings().tz
        self.follow_days = follow_up_days(session)
        self._sla: dict[tuple[int, Severity], tuple[int, int]] = {}
        self.hiccups: list[dict[str, Any]] = []
        self.ncs: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.audit: list[tuple[dt.datetime, int, dict[str, Any]]] = []
        self._seq = 0

    def generate(self, n: int) -> None:
        """Draft `n` hiccups as they were raised (drafts.py); `run` takes them through their steps."""
        self.hiccups = Drafter(self.session, self.lab, self.rng, self.now).generate(n)

    def run(self, first_id: int, first_nc_id: int, first_action_id: int) -> None:
        for i, h in enumerate(self.hiccups):
            h['id'] = first_id + i
            h['reference'] = f'HIC-{h["created_at"].year}-{h["id"]:05d}'
            self.lifecycle(h)
        self.ncs.sort(key=lambda nc: nc['created_at'])
        for i, nc in enumerate(self.ncs):
            nc['id'] = first_nc_id + i
            nc['reference'] = f'NC-{nc["created_at"].year}-{nc["id"]:05d}'
            nc['_hiccup']['nc_id'] = nc['id']
            self.nc_lifecycle(nc)
        self.actions.sort(key=lambda a: (a['created_at'], a['_seq']))
        for i, action in enumerate(self.actions):
            action['id'] = first_action_id + i
            self.action_trail(action)

    def lifecycle(self, h: dict) -> None:
        rng, now = self.rng, self.now
        created = h['created_at']
        response_h, closure_h = self.sla(h['category_id'], h['severity'])
        h.update(
            response_due_at=created + in_hours(response_h),
            closure_due_at=created + in_hours(closure_h),
            version=WRITES[('hiccups', 'create')],
            updated_at=created,
        )
        for key in ('response', 'root_cause', 'corrective_action', 'responded_at', 'closure_remarks'):
            h[key] = None
        h.update(lessons_learned=None, closed_at=None, follow_up_due_at=None, follow_up_result=None, nc_id=None)
        h['follow_up_comment'] = None
        created_diff = {
            k: [None, v.name if isinstance(v, enum.Enum) else v]
            for k in (*Hiccups.form_fields, 'status', 'raised_by_id')
            if (v := h[k]) not in (None, '', [])
        }
        raiser, texts, dept = h['_raiser'], h['_texts'], h['_dept']
        self.log(created, raiser, 'create', 'hiccups', h['id'], created_diff)

        age = now - created
        stall_p = 0.10 if age < in_days(14) else 0.05 if age < in_days(60) else 0.006
        stall = rng.choice(('open', 'responded', 'under_review')) if rng.random() < stall_p else None
        manager = rng.choice(self.lab.managers)
        # An HOD may not see a confidential hiccup, so management answer it (Hiccups.visible_to):
        # it has no default responder, and the manager who will decide on it responds.
        responder = manager if h['confidential'] else self.lab.hods[dept]

        if stall == 'open':
            return
        at = created + in_hours(max(0.2, response_h * self.lognormal(0.35, 0.8)))
        answer = {'response': texts['response'], 'root_cause': texts['root_cause']}
        answer['corrective_action'] = texts['corrective']
        if not self.step(
            h, at, responder, 'respond', 'responded', {k: [None, v] for k, v in answer.items()}, 'hiccups'
        ):
            return
        h.update(answer, responded_at=at)
        if stall == 'responded':
            return
        if rng.random() < 0.55:
            at += in_hours(self.lognormal(3, 1.0))
            if not self.step(h, at, manager, 'review', 'under_review', {}, 'hiccups'):
                return
        if stall == 'under_review':
            return
        decided = max(created + in_hours(closure_h * self.lognormal(0.55, 0.55)), at + in_hours(rng.uniform(0.5, 4)))
        if rng.random() < ESCALATION[h['severity']]:
            if self.step(h, decided, manager, 'escalate', 'escalated', {}, 'hiccups'):
                h['closed_at'] = decided
                self.escalate(h, decided, manager)
            return
        if not self.close(h, decided, manager, texts['remarks'], texts['lessons']):
            return
        raiser = h['_raiser']
        if isinstance(raiser, Integration) or rng.random() < (0.2 if now - decided < in_days(30) else 0.03):
            return  # nobody answers the follow-up (yet): the reminder keeps coming
        answered = decided + in_days(rng.uniform(0.05, self.follow_days * 1.15))
        if rng.random() < 0.06:
            comment = rng.choice(NOT_SATISFIED)
            diff = {'follow_up_comment': [None, comment]}
            if not self.step(h, answered, raiser, 'reopen', 'under_review', diff, 'hiccups'):
                return
            h.update(follow_up_comment=comment, follow_up_result=FollowUp.not_satisfied, closed_at=None)
            again = answered + in_hours(self.lognormal(20, 0.6))
            remarks = f'Looked at again after the follow-up ("{comment}"): {texts["corrective"]}'
            if not self.close(h, again, manager, remarks, None) or rng.random() > 0.75:
                return
            answered = again + in_days(rng.uniform(0.1, self.follow_days))
        comment = rng.choice(SATISFIED) if rng.random() < 0.6 else None
        diff = {'follow_up_comment': [h['follow_up_comment'], comment]} if comment else {}
        if self.step(h, answered, raiser, 'confirm', 'followed_up', diff, 'hiccups'):
            h['follow_up_result'] = FollowUp.satisfied
            if comment:
                h['follow_up_comment'] = comment

    def close(self, h: dict, at: dt.datetime, manager: Person, remarks: str, lessons: str | None) -> bool:
        diff = {'closure_remarks': [h['closure_remarks'], remarks]}
        if lessons is not None:
            diff['lessons_learned'] = [h['lessons_learned'], lessons]
        if not self.step(h, at, manager, 'close', 'closed', diff, 'hiccups'):
            return False
        h['closure_remarks'] = remarks
        if lessons is not None:
            h['lessons_learned'] = lessons
        h.update(closed_at=at, follow_up_due_at=at + in_days(self.follow_days))
        return True

    def escalate(self, h: dict, at: dt.datetime, manager: Person) -> None:
        self.ncs.append(
            {
                'title': '',  # the reference is known once NCs are numbered
                'description': h['description'],
                'department_id': h['department_id'],
                'owner_id': manager.id,
                'status': 'open',
                'root_cause_analysis': h['root_cause'],
                'effectiveness_check_date': None,
                'effectiveness_result': None,
                'closed_at': None,
                'created_at': at,
                'updated_at': at,
                'version': WRITES[('non_conformances', 'create')],
                '_hiccup': h,
                '_owner': manager,
            }
        )

    def nc_lifecycle(self, nc: dict) -> None:
        rng, h, owner = self.rng, nc['_hiccup'], nc['_owner']
        nc['title'] = f'{h["reference"]}: {h["title"]}'[:200]
        hod = owner if h['confidential'] else self.lab.hods[h['_dept']]  # HODs may not see those NCs
        created = nc['created_at']
        diff = {
            k: [None, nc[k]]
            for k in ('title', 'description', 'department_id', 'owner_id', 'root_cause_analysis', 'status')
            if nc[k] is not None
        }
        self.log(created, owner, 'create', 'non_conformances', nc['id'], diff)

        planned = created + in_days(rng.uniform(0.5, 4))
        rca = (
            f'{h["root_cause"]}\n\nContributing factors: {rng.choice(RCA_FACTORS)}; {rng.choice(RCA_FACTORS)}.\n'
            f'Why it was not caught earlier: {rng.choice(RCA_FACTORS)}.'
        )
        diff = {'root_cause_analysis': [nc['root_cause_analysis'], rca]}
        if not self.step(nc, planned, owner, 'plan', 'action_plan', diff, 'non_conformances'):
            return
        nc['root_cause_analysis'] = rca
        texts, values = h['_texts'], h['_values']
        plan = [
            (ActionKind.immediate, texts['immediate'] or 'Contain the problem and check affected results', hod, 1),
            (ActionKind.corrective, texts['corrective'], hod, 14),
            (ActionKind.preventive, rng.choice(PREVENTIVE).format(**values), rng.choice((owner, hod)), 30),
        ]
        done_by, all_done = planned, True
        for kind, description, who, days in plan:
            due = (planned + in_days(days)).astimezone(self.tz).date()
            done_at = planned + in_days(max(0.2, days + rng.uniform(-6, 4) if days > 1 else rng.uniform(0.1, 1)))
            done = done_at <= self.now and rng.random() < 0.97
            self._seq += 1
            self.actions.append(
                {
                    'nc_id': nc['id'],
                    'kind': kind,
                    'description': description[:500],
                    'owner_id': who.id,
                    'due_date': due,
                    'done': done,
                    'created_at': planned,
                    'updated_at': done_at if done else planned,
                    'version': 2 if done else 1,
                    '_seq': self._seq,
                    '_owner': who,
                    '_creator': owner,
                }
            )
            all_done = all_done and done
            done_by = max(done_by, done_at)
        started = planned + in_days(rng.uniform(0.5, 3))
        if not self.step(nc, started, owner, 'start', 'in_progress', {}, 'non_conformances') or not all_done:
            return  # effectiveness is checked once every action is done
        for attempt in range(2):
            checked = max(started, done_by) + in_days(rng.uniform(1, 5))
            check_date = (checked + in_days(rng.randint(21, 45) if attempt == 0 else rng.randint(10, 20))).astimezone(
                self.tz
            )
            diff = {'effectiveness_check_date': [nc['effectiveness_check_date'], check_date.date()]}
            if not self.step(nc, checked, owner, 'check', 'effectiveness_check', diff, 'non_conformances'):
                return
            nc['effectiveness_check_date'] = check_date.date()
            on_the_day = check_date.replace(hour=11, minute=0) + in_hours(rng.uniform(0, 6))
            if attempt == 0 and rng.random() < 0.12:
                result = rng.choice(NOT_EFFECTIVE)
                diff = {'effectiveness_result': [None, result]}
                if not self.step(nc, on_the_day, owner, 'reopen', 'in_progress', diff, 'non_conformances'):
                    return
                nc['effectiveness_result'] = result
                started = done_by = on_the_day
                continue
            result = rng.choice(EFFECTIVE).format(weeks=rng.randint(4, 12), n=rng.randint(10, 60))
            diff = {'effectiveness_result': [nc['effectiveness_result'], result]}
            if self.step(nc, on_the_day.astimezone(dt.UTC), owner, 'close', 'closed', diff, 'non_conformances'):
                nc.update(effectiveness_result=result, closed_at=on_the_day.astimezone(dt.UTC))
            return

    def action_trail(self, action: dict) -> None:
        created = {
            'nc_id': action['nc_id'],
            'kind': action['kind'].name,
            'description': action['description'],
            'owner_id': action['owner_id'],
            'due_date': action['due_date'],
            'done': False,
        }
        diff = {k: [None, v] for k, v in created.items()}
        self.log(action['created_at'], action['_creator'], 'create', 'nc_actions', action['id'], diff)
        if action['done']:
            self.log(
                action['updated_at'], action['_owner'], 'update', 'nc_actions', action['id'], {'done': [False, True]}
            )

    def step(self, h: dict, at: dt.datetime, actor: Any, name: str, target: str, diff: dict, rt: str) -> bool:
        """Take workflow step `name` at `at` if that is not in the future; False when it is."""
        if at > self.now:
            return False
        diff = {**diff, 'status': [h['status'], target]}
        h['status'] = target
        h['version'] += WRITES.get((rt, name), 1)
        h['updated_at'] = at
        self.log(at, actor, f'transition:{name}', rt, h['id'], diff)
        return True

    # -- helpers

    def sla(self, category_id: int, severity: Severity) -> tuple[int, int]:
        key = (category_id, severity)
        if key not in self._sla:
            self._sla[key] = sla_hours(self.session, category_id, severity)
        return self._sla[key]

    def log(self, at: dt.datetime, actor: Any, action: str, record_type: str, record_id: int, diff: dict) -> None:
        self._seq += 1
        row = {
            'at': at,
            'actor_id': actor.id,
            'actor': actor.label,
            'action': action,
            'record_type': record_type,
            'record_id': record_id,
            'changes': json.dumps(diff, default=str, ensure_ascii=False) if diff else None,
            'note': None,
        }
        self.audit.append((at, self._seq, row))

    def lognormal(self, median: float, sigma: float) -> float:
        return self.rng.lognormvariate(math.log(median), sigma)
