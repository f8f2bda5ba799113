// 2048: a 4x4 board; a move slides every row (or column) towards one
// side, joining equal neighbours once per move; then a 2 (or a 4) appears
// in an empty cell. The game is over when no move changes the board.
"use strict";
const N = 4;
let board, score, over;

function newGame() {
  board = Array.from({ length: N }, () => Array(N).fill(0));
  score = 0;
  over = false;
  addTile();
  addTile();
  draw();
}

function addTile() {
  const empty = [];
  for (let r = 0; r < N; r++) for (let c = 0; c < N; c++) if (!board[r][c]) empty.push([r, c]);
  if (!empty.length) return;
  const [r, c] = empty[Math.floor(Math.random() * empty.length)];
  board[r][c] = Math.random() < 0.9 ? 2 : 4;
}

// slide moves one line towards index 0 and returns it with the points won.
function slide(line) {
  const tiles = line.filter(v => v);
  const out = [];
  let points = 0;
  for (let i = 0; i < tiles.length; i++) {
    if (tiles[i] === tiles[i + 1]) {
      out.push(tiles[i] * 2);
      points += tiles[i] * 2;
      i++;
    } else {
      out.push(tiles[i]);
    }
  }
  while (out.length < N) out.push(0);
  return [out, points];
}

// move slides the board in direction d (0 left, 1 up, 2 right, 3 down)
// and reports whether anything moved.
function move(d) {
  let moved = false;
  for (let i = 0; i < N; i++) {
    const idx = [...Array(N).keys()].map(j => {
      const k = d >= 2 ? N - 1 - j : j;
      return d % 2 === 0 ? [i, k] : [k, i];
    });
    const [line, points] = slide(idx.map(([r, c]) => board[r][c]));
    idx.forEach(([r, c], j) => {
      if (board[r][c] !== line[j]) moved = true;
      board[r][c] = line[j];
    });
    score += points;
  }
  return moved;
}

function canMove() {
  for (let r = 0; r < N; r++)
    for (let c = 0; c < N; c++) {
      if (!board[r][c]) return true;
      if (c + 1 < N && board[r][c] === board[r][c + 1]) return true;
      if (r + 1 < N && board[r][c] === board[r + 1][c]) return true;
    }
  return false;
}

function play(d) {
  if (over || !move(d)) return;
  addTile();
  if (!canMove()) {
    over = true;
    document.getElementById("save").hidden = false;
  }
  draw();
}

function draw() {
  const grid = document.getElementById("grid");
  grid.innerHTML = "";
  for (const row of board)
    for (const v of row) {
      const cell = document.createElement("div");
      cell.className = "cell" + (v ? (v <= 2048 ? " v" + v : " big") : "");
      cell.textContent = v || "";
      grid.appendChild(cell);
    }
  document.getElementById("score").textContent = score + (over ? " (game over)" : "");
}

function showScores(list) {
  const ol = document.getElementById("scores");
  ol.innerHTML = "";
  for (const s of list) {
    const li = document.createElement("li");
    li.textContent = s.name + ": " + s.score;
    ol.appendChild(li);
  }
}

const keys = { ArrowLeft: 0, ArrowUp: 1, ArrowRight: 2, ArrowDown: 3 };
document.addEventListener("keydown", e => {
  if (e.key in keys) {
    e.preventDefault();
    play(keys[e.key]);
  }
});
let touch = null;
document.getElementById("grid").addEventListener("pointerdown", e => (touch = [e.clientX, e.clientY]));
document.getElementById("grid").addEventListener("pointerup", e => {
  if (!touch) return;
  const dx = e.clientX - touch[0], dy = e.clientY - touch[1];
  touch = null;
  if (Math.max(Math.abs(dx), Math.abs(dy)) < 20) return;
  play(Math.abs(dx) > Math.abs(dy) ? (dx < 0 ? 0 : 2) : (dy < 0 ? 1 : 3));
});
document.getElementById("new").onclick = () => {
  document.getElementById("save").hidden = true;
  newGame();
};
document.getElementById("save").onsubmit = async e => {
  e.preventDefault();
  const name = document.getElementById("name").value;
  const r = await fetch("api/scores", { method: "POST", body: JSON.stringify({ name, score }) });
  if (r.ok) showScores(await r.json());
  document.getElementById("save").hidden = true;
};
fetch("api/scores").then(r => r.json()).then(showScores);
fetch("api/info").then(r => r.json()).then(i => {
  document.getElementById("info").textContent = i.hostname + ", " + i.go + ", up " + i.uptime;
});
newGame();
