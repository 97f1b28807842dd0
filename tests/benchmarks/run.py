"""`make bench`: each benchmark prints its figures beside a baseline measured in the same run."""

import os
import platform
import sys

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    django.setup()
    from . import bench_grading

    print(
        f"# {platform.node()} · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} cores · Python {platform.python_version()}"
    )
    for name, module in [("Grading", bench_grading)]:
        print(f"\n## {name}\n")
        print(f"| {'what':<66} | {'per second':>12} | {'× baseline':>10} |")
        print(f"|{'-' * 68}|{'-' * 14}|{'-' * 12}|")
        for what, rate, ratio in module.run():
            print(f"| {what:<66} | {rate:>12,.0f} | {ratio:>10.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
