"""The distributed deployment: the Celery app, its thin tasks and what keeps them reliable.

``app`` (configuration, queues and routes; the beat schedule comes from
:mod:`worker.schedule`), ``tasks`` (take ids, call one use case, own retries),
``reliability`` (crash counting, parked poison messages, broker settings), ``host_limiter``
(per-host politeness shared through Redis) and ``enqueue`` (a pass sent to the workers
and waited for). The task names registered with the broker are ``newsmon.*`` strings,
independent of these module paths.
"""
