// The ceiling for anything served through Express: a bare Express 5 app answering "hello",
// started by the bench as its own process on PORT (plain JavaScript, as such an app would be).
import express from 'express'

const app = express()
app.get('/', (_req, res) => {
  res.send('hello')
})
app.listen(Number(process.env.PORT))
