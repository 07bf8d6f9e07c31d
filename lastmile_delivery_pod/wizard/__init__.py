from . import lastmile_task_reopen
